from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AutopackSiteConfig(AppConfig):
    name = "autopack_site"
    verbose_name = "Autopack: projects and agent keys"

    def ready(self) -> None:
        from autopack_site import checks  # noqa: F401 - registers the system checks
        from autopack_site.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="autopack-schedules")
        _check_redis_broker()


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
