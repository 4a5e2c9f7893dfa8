from django.apps import AppConfig


def _follow(sender, **changed) -> None:
    from ledger.services.follow import action_follow_approval

    action_follow_approval(**changed)


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from approvals.signals import approval_status_changed

        approval_status_changed.connect(_follow, dispatch_uid="ledger-follows-approvals")
