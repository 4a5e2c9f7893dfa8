"""The transactional outbox: every task that carries a side effect or a decision is written as
a row in the same transaction as the state it follows from (`outbox_send`), so a rollback takes
both and a commit keeps both. The relay (`manage.py outbox_relay`, one or more processes) hands
rows to the django-q2 broker, ORM or Redis alike, and marks them sent; the worker runs the task
through `outbox_deliver` and marks it delivered. A crash anywhere leaves a row that is sent once
more: before the broker had it (unsent), or after the broker lost it (sent, undelivered past
AUTOPACK_OUTBOX_REDELIVER_SECONDS). Tasks are idempotent — they claim their row by
compare-and-set — so a second delivery does nothing twice.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.tasks import async_task

from autopack_site.faults import fault_point
from autopack_site.models import OutboxMessage

logger = logging.getLogger(__name__)

DELIVER_TASK = "autopack_site.tasks.outbox_deliver"


def outbox_send(task: str, *args) -> OutboxMessage:
    """Inside the transaction whose commit makes ``task(*args)`` necessary."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_send belongs inside the transaction that needs the task")
    return OutboxMessage.objects.create(task=task, args=list(args))


def outbox_send_missing(task: str, arg_lists: list[list]) -> int:
    """For sweeps: ``task(*args)`` for each of ``arg_lists`` that has no message still waiting
    to be delivered. A sweep that runs while earlier tasks wait (a busy or dead worker) adds
    nothing; without this every sweep would queue the same work again and the backlog would
    grow faster than workers drain it."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_send_missing belongs inside the transaction that needs it")
    waiting = {
        tuple(args)
        for args in OutboxMessage.objects.filter(task=task, delivered_at__isnull=True).values_list(
            "args", flat=True
        )
    }
    missing = [list(args) for args in arg_lists if tuple(args) not in waiting]
    OutboxMessage.objects.bulk_create([OutboxMessage(task=task, args=args) for args in missing])
    return len(missing)


def outbox_relay(*, limit: int = 200) -> int:
    """Hands due messages to the broker and marks them sent. Several relays may run: each
    takes rows no other holds (SKIP LOCKED)."""
    now = timezone.now()
    lost = now - timedelta(seconds=settings.AUTOPACK_OUTBOX_REDELIVER_SECONDS)
    with transaction.atomic():
        batch = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(Q(sent_at__isnull=True) | Q(delivered_at__isnull=True, sent_at__lt=lost))
            .filter(delivered_at__isnull=True)
            .order_by("id")
            .values_list("pk", flat=True)[:limit]
        )
        for message_id in batch:
            # The ORM broker's row joins this transaction; Redis has it at once.
            async_task(DELIVER_TASK, message_id)
        fault_point("relay_after_enqueue")
        OutboxMessage.objects.filter(pk__in=batch).update(sent_at=now, sends=F("sends") + 1)
    return len(batch)


def outbox_deliver(message_id: int):
    """The worker's side: runs the message's task unless it already ran, then marks it."""
    message = OutboxMessage.objects.filter(pk=message_id, delivered_at__isnull=True).first()
    if message is None:
        return "already delivered"
    result = import_string(message.task)(*message.args)
    OutboxMessage.objects.filter(pk=message_id, delivered_at__isnull=True).update(
        delivered_at=timezone.now()
    )
    return result


def outbox_prune(*, older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _ = OutboxMessage.objects.filter(delivered_at__lt=timezone.now() - older_than).delete()
    return deleted


def outbox_depth() -> dict[str, int]:
    """For health: messages the broker has not had yet, and those it has not run yet."""
    undelivered = OutboxMessage.objects.filter(delivered_at__isnull=True)
    return {
        "unsent": undelivered.filter(sent_at__isnull=True).count(),
        "undelivered": undelivered.count(),
    }
