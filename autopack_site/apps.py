from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AutopackSiteConfig(AppConfig):
    name = "autopack_site"
    verbose_name = "Autopack: projects and agent keys"

    def ready(self) -> None:
        from django.urls import register_converter

        from autopack_site import checks  # noqa: F401 - registers the system checks
        from autopack_site.api.converters import RowIdConverter
        from autopack_site.schedules import ensure_schedules

        register_converter(RowIdConverter, "id")  # before any URLconf is read
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="autopack-schedules")
