from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "publishing"
    verbose_name = "Publishing compliance"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from approvals.consumers import ApprovalConsumer, register_consumer
        from approvals.models import ApprovalKind
        from autopack_site.models import Project
        from ledger.guards import register_guard
        from publishing.guards import GUARDS
        from publishing.packets import (
            packet_follow_approval,
            packets_waiting_on_decided_approvals,
        )
        from publishing.switch import switch_for_new_project

        post_save.connect(switch_for_new_project, sender=Project, dispatch_uid="publishing-switch")
        for guard in GUARDS:
            register_guard(guard)
        register_consumer(
            ApprovalConsumer(
                kind=ApprovalKind.PUBLISH_PACKET,
                on_status=packet_follow_approval,
                waiting=packets_waiting_on_decided_approvals,
            )
        )
