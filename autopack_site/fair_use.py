"""Fair use of the agent API, shared by every process through the database: a per-key request
budget (429 with Retry-After past it; every key has its own, so one cannot starve another
project) and a per-key cap on long-polls in flight."""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from autopack_site.db.windows import take_from_window
from autopack_site.models import AgentKey, KeyRequestWindow, LongPollSlot

REQUEST_WINDOW = timedelta(minutes=1)


class AgentKeyRateThrottle(BaseThrottle):
    """DRF's throttle hook, counted per agent key per minute (AUTOPACK_KEY_REQUESTS_PER_MINUTE;
    0 turns it off). Unauthenticated requests are refused before this matters."""

    def allow_request(self, request, view) -> bool:
        key = request.auth
        limit = settings.AUTOPACK_KEY_REQUESTS_PER_MINUTE
        if not isinstance(key, AgentKey) or limit <= 0:
            return True
        self._wait = take_from_window(
            KeyRequestWindow.objects.filter(key_id=key.pk),
            limit=limit,
            window=REQUEST_WINDOW,
            create=lambda: KeyRequestWindow.objects.create(
                key_id=key.pk, window_started_at=timezone.now(), used=1
            ),
        )
        return self._wait == 0

    def wait(self) -> float:
        return math.ceil(self._wait)


@contextmanager
def long_poll_slot(key: AgentKey, *, seconds: float) -> Iterator[None]:
    """Holds one of the key's AUTOPACK_LONG_POLLS_PER_KEY slots while it waits (429 when they
    are all taken). The key's budget row is the lock that makes count-then-insert safe."""
    cap = settings.AUTOPACK_LONG_POLLS_PER_KEY
    now = timezone.now()
    with transaction.atomic():
        KeyRequestWindow.objects.get_or_create(
            key_id=key.pk, defaults={"window_started_at": now, "used": 0}
        )
        KeyRequestWindow.objects.select_for_update().filter(key_id=key.pk).exists()
        active = LongPollSlot.objects.filter(key_id=key.pk, expires_at__gt=now).count()
        if active >= cap:
            raise Throttled(
                wait=1,
                detail=f"This key already has {active} long-polls waiting (the cap is {cap}).",
            )
        slot = LongPollSlot.objects.create(
            key_id=key.pk, expires_at=now + timedelta(seconds=seconds + 5)
        )
    try:
        yield
    finally:
        LongPollSlot.objects.filter(pk=slot.pk).delete()
