"""Rows to API bodies."""

from decimal import Decimal

from trading.models import SwitchStatus, TradingAccount
from trading.schemas import AccountOut, OrderCheckOut


def _s(value) -> str | None:
    return (
        None if value is None else format(value, "f") if isinstance(value, Decimal) else str(value)
    )


def account_out(account: TradingAccount) -> AccountOut:
    day = account.day
    return AccountOut(
        id=account.pk,
        name=account.name,
        broker=account.broker,
        mode=account.mode,
        state=account.status,
        kill_switch_engaged=account.kill_switch.status == SwitchStatus.ENGAGED,
        trading_date=day.trading_date.isoformat(),
        limits=account.limits_snapshot(),
        today={
            "orders_today": str(day.orders_today),
            "realised_pnl_today": _s(day.realised_pnl_today),
            "reserved_value": _s(day.reserved_value),
            "position_value": _s(day.position_value),
            "exposure": _s(day.exposure),
            "equity": _s(day.equity),
            "equity_peak": _s(day.equity_peak),
        },
        current_strategy=account.current_strategy.version if account.current_strategy else None,
    )


def decision_out(decision, *, replayed: bool = False) -> OrderCheckOut:
    return OrderCheckOut(
        allowed=decision.allowed,
        decision_id=decision.pk,
        client_order_id=decision.client_order_id,
        effective_mode=decision.effective_mode,
        order_value=_s(decision.order_value),
        status=decision.status,
        reasons=decision.reasons,
        remaining=decision.remaining,
        replayed=replayed,
    )
