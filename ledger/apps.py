from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from approvals.consumers import ApprovalConsumer, register_consumer
        from approvals.models import ApprovalKind
        from ledger.services.follow import (
            action_follow_approval,
            actions_waiting_on_decided_approvals,
        )

        register_consumer(
            ApprovalConsumer(
                kind=ApprovalKind.ACTION,
                on_status=action_follow_approval,
                waiting=actions_waiting_on_decided_approvals,
            )
        )
