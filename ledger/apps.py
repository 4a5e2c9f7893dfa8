from django.apps import AppConfig


def _follow(sender, *, request_id, kind, target_ref, status, **_signal) -> None:
    from ledger.services.follow import action_follow_approval

    action_follow_approval(request_id=request_id, kind=kind, target_ref=target_ref, status=status)


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from approvals.signals import approval_status_changed

        approval_status_changed.connect(_follow, dispatch_uid="ledger-follows-approvals")
