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
        # after every app's migrate, since each app's permissions appear in its own post_migrate
        post_migrate.connect(_sync_staff_group, dispatch_uid="autopack-staff-group")
        _check_redis_broker()


def _sync_staff_group(**kwargs) -> None:
    from autopack_site.services import staff_group_sync

    staff_group_sync()


def _check_redis_broker() -> None:
    """With Q_REDIS_URL set, every process refuses to start unless Redis answers."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.Q_REDIS_URL:
        return
    import redis

    try:
        redis.Redis.from_url(settings.Q_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise ImproperlyConfigured(
            f"Q_REDIS_URL={settings.Q_REDIS_URL!r} does not answer ({exc}); start Redis or unset "
            "Q_REDIS_URL to use the ORM broker."
        ) from None
