"""django-q2 entry points for trading: thin, idempotent."""

from trading import services


def decisions_expire() -> int:
    return services.decisions_expire()


def accounts_reconcile() -> int:
    """The schedule: compare every Alpaca account's broker with its checks."""
    return sum(len(r.unknown) for r in services.accounts_reconcile())


def unknown_orders_alert(account_id: int, broker_order_ids: list[str]) -> int:
    return services.unknown_orders_alert(account_id=account_id, broker_order_ids=broker_order_ids)
