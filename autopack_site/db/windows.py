"""Fixed-window budgets counted in SQL: one row per budget (a key's requests, a project's calls
to a provider), shared by every process, no lock held. The usual case is one UPDATE."""

from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone


def take_from_window(
    rows: models.QuerySet,
    *,
    limit: int,
    window: timedelta,
    create: Callable[[], models.Model],
    counter: str = "used",
    started: str = "window_started_at",
) -> float:
    """Takes one unit from the budget row selected by ``rows``. Returns 0 when taken, else the
    seconds until the window reopens. ``create`` makes the row (counting this unit) the first
    time. A row created or reset by another process between these statements is simply tried
    again."""
    for _ in range(5):
        now = timezone.now()
        if rows.filter(**{f"{started}__gt": now - window, f"{counter}__lt": limit}).update(
            **{counter: F(counter) + 1}
        ):
            return 0.0
        if rows.filter(**{f"{started}__lte": now - window}).update(**{started: now, counter: 1}):
            return 0.0
        current = rows.values_list(started, counter).first()
        if current is None:
            try:
                with transaction.atomic():
                    create()
                return 0.0
            except IntegrityError:
                continue  # created concurrently: take from that window
        opened, used = current
        if used >= limit and opened > now - window:
            return max(0.05, (opened + window - now).total_seconds())
    return 1.0  # the row kept changing under us: a busy budget, ask again in a second
