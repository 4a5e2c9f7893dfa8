"""django-q2 entry points for the site: thin, idempotent."""

import os
import socket

from django.utils import timezone

from autopack_site.models import WorkerHeartbeat


def worker_heartbeat() -> str:
    """Proves a worker is alive and taking tasks; /api/v1/health reads its age."""
    WorkerHeartbeat.objects.update_or_create(
        name="default",
        defaults={"beat_at": timezone.now(), "hostname": socket.gethostname(), "pid": os.getpid()},
    )
    return "beat"


def outbox_deliver(message_id: int):
    from autopack_site.outbox import outbox_deliver as deliver

    return deliver(message_id)


def outbox_relay() -> int:
    """The schedule's relay pass: a safety net when no relay process runs."""
    from autopack_site.outbox import outbox_prune
    from autopack_site.outbox import outbox_relay as relay

    outbox_prune()
    return relay()
