from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from approvals.consumers import ApprovalConsumer, register_consumer
        from approvals.models import ApprovalKind
        from autopack_site.services import on_key_revoked
        from ledger.services.follow import (
            action_follow_approval,
            actions_waiting_on_decided_approvals,
        )
        from ledger.services.reconcile import actions_cancel_for_revoked_key

        on_key_revoked(actions_cancel_for_revoked_key)
        register_consumer(
            ApprovalConsumer(
                kind=ApprovalKind.ACTION,
                on_status=action_follow_approval,
                waiting=actions_waiting_on_decided_approvals,
            )
        )
