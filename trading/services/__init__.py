"""Trading's write path: every change to an account, its day row, positions and decisions."""

from trading.services.accounts import (
    account_create,
    account_equity_report,
    account_limits_change,
    account_mode_change,
    account_status_change,
    kill_switch_set,
    strategy_version_create,
)
from trading.services.checks import OrderRequest, order_check
from trading.services.lifecycle import decisions_expire, order_report

__all__ = [
    "OrderRequest",
    "account_create",
    "account_equity_report",
    "account_limits_change",
    "account_mode_change",
    "account_status_change",
    "decisions_expire",
    "kill_switch_set",
    "order_check",
    "order_report",
    "strategy_version_create",
]
