"""A per-project, per-provider call budget shared by every worker: a fixed one-minute window,
counted in SQL with compare-and-increment (no lock held, no network inside)."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ledger.conf import ledger_settings
from ledger.models import RateLimitWindow

WINDOW = timedelta(minutes=1)


def rate_limit_take(*, project_id: int, provider: str) -> float:
    """Takes one call slot. Returns 0 when taken, else the seconds until the window reopens."""
    limit = ledger_settings().rate_limit(provider)
    now = timezone.now()
    windows = RateLimitWindow.objects.filter(project_id=project_id, provider=provider)
    if windows.filter(window_started_at__gt=now - WINDOW, used__lt=limit).update(
        used=F("used") + 1
    ):
        return 0.0
    if windows.filter(window_started_at__lte=now - WINDOW).update(window_started_at=now, used=1):
        return 0.0
    started = windows.values_list("window_started_at", flat=True).first()
    if started is None:
        try:
            with transaction.atomic():
                RateLimitWindow.objects.create(
                    project_id=project_id, provider=provider, window_started_at=now, used=1
                )
            return 0.0
        except IntegrityError:  # created concurrently: take a slot in that window
            return rate_limit_take(project_id=project_id, provider=provider)
    return max(0.05, (started + WINDOW - now).total_seconds())
