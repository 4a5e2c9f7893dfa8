from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AutopackSiteConfig(AppConfig):
    name = "autopack_site"
    verbose_name = "Autopack: projects and agent keys"

    def ready(self) -> None:
        from autopack_site import checks  # noqa: F401 - registers the system checks
        from autopack_site.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="autopack-schedules")
        # after every app's migrate, since each app's permissions appear in its own post_migrate
        post_migrate.connect(_sync_staff_group, dispatch_uid="autopack-staff-group")


def _sync_staff_group(**kwargs) -> None:
    from autopack_site.services import staff_group_sync

    staff_group_sync()
