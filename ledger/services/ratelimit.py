"""A per-project, per-provider call budget shared by every worker: a fixed one-minute window
counted in SQL (autopack_site/db/windows.py)."""

from datetime import timedelta

from django.utils import timezone

from autopack_site.db.windows import take_from_window
from ledger.conf import ledger_settings
from ledger.models import RateLimitWindow

WINDOW = timedelta(minutes=1)


def rate_limit_take(*, project_id: int, provider: str) -> float:
    """Takes one call slot. Returns 0 when taken, else the seconds until the window reopens."""
    return take_from_window(
        RateLimitWindow.objects.filter(project_id=project_id, provider=provider),
        limit=ledger_settings().rate_limit(provider),
        window=WINDOW,
        create=lambda: RateLimitWindow.objects.create(
            project_id=project_id, provider=provider, window_started_at=timezone.now(), used=1
        ),
    )
