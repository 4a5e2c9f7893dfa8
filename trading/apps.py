from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self) -> None:
        from approvals.consumers import ApprovalConsumer, register_consumer
        from approvals.models import ApprovalKind
        from ledger.guards import register_guard
        from trading.guard import RISK_GATE
        from trading.services.accounts import (
            limit_change_follow_approval,
            limit_changes_waiting,
            strategies_waiting,
            strategy_follow_approval,
        )

        register_guard(RISK_GATE)
        register_consumer(
            ApprovalConsumer(
                kind=ApprovalKind.STRATEGY_VERSION,
                on_status=strategy_follow_approval,
                waiting=strategies_waiting,
            )
        )
        register_consumer(
            ApprovalConsumer(
                kind=ApprovalKind.LIMIT_CHANGE,
                on_status=limit_change_follow_approval,
                waiting=limit_changes_waiting,
            )
        )
