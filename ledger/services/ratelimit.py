"""A per-provider call budget shared by every worker: a fixed one-minute window per provider,
counted under a row lock (one short transaction per call, no network inside)."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.conf import ledger_settings
from ledger.models import RateLimitWindow

WINDOW = timedelta(minutes=1)


def rate_limit_take(provider: str) -> float:
    """Takes one call slot. Returns 0 when taken, else the seconds until the window reopens."""
    limit = ledger_settings().rate_limit(provider)
    now = timezone.now()
    try:
        with transaction.atomic():
            RateLimitWindow.objects.get_or_create(
                provider=provider, defaults={"window_started_at": now, "used": 0}
            )
    except IntegrityError:
        pass  # created concurrently
    with transaction.atomic():
        window = RateLimitWindow.objects.select_for_update().get(provider=provider)
        if window.window_started_at + WINDOW <= now:
            window.window_started_at, window.used = now, 0
        if window.used >= limit:
            return max(0.05, (window.window_started_at + WINDOW - now).total_seconds())
        window.used += 1
        window.save(update_fields=["window_started_at", "used"])
        return 0.0
