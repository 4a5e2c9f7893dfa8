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
from trading.services.reconcile import (
    Reconciliation,
    account_reconcile,
    accounts_reconcile,
    unknown_orders_alert,
)

__all__ = [
    "OrderRequest",
    "Reconciliation",
    "account_create",
    "account_equity_report",
    "account_limits_change",
    "account_mode_change",
    "account_reconcile",
    "account_status_change",
    "accounts_reconcile",
    "decisions_expire",
    "kill_switch_set",
    "order_check",
    "order_report",
    "strategy_version_create",
    "unknown_orders_alert",
]
