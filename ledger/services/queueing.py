"""Handing actions to the worker."""

from autopack_site.outbox import outbox_send, outbox_send_missing

EXECUTE_TASK = "ledger.tasks.action_execute"
RECONCILE_TASK = "ledger.tasks.action_reconcile"


def _enqueue(task: str, action_id: int) -> None:
    """The task is an outbox row in the transaction that needs it (autopack_site/outbox.py):
    the same path for the ORM and the Redis broker."""
    outbox_send(task, action_id)


def schedule_execution(action_id: int) -> None:
    _enqueue(EXECUTE_TASK, action_id)


def schedule_reconcile(action_id: int) -> None:
    _enqueue(RECONCILE_TASK, action_id)


def schedule_missing(*, execute: list[int], reconcile: list[int]) -> dict[str, int]:
    """The sweep's hand-over: only the actions with no task already waiting for them."""
    return {
        "due": outbox_send_missing(EXECUTE_TASK, [[pk] for pk in execute]),
        "unknown": outbox_send_missing(RECONCILE_TASK, [[pk] for pk in reconcile]),
    }
