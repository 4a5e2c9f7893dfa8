from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from approvals.services import approvals_cancel_for_revoked_key
        from autopack_site.services import on_key_revoked

        on_key_revoked(approvals_cancel_for_revoked_key)
