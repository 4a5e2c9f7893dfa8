"""Handing actions to the worker."""

from django.db import transaction
from django_q.tasks import async_task

from autopack_site.queue import orm_broker_in_use

EXECUTE_TASK = "ledger.tasks.action_execute"
RECONCILE_TASK = "ledger.tasks.action_reconcile"


def _enqueue(task: str, action_id: int) -> None:
    """With the ORM broker the task row commits with the state that needs it (a rollback takes
    both); another broker (Redis) hears of it only after the commit. Either way a lost task is
    caught by the sweep, which re-queues approved actions that are due."""
    if orm_broker_in_use():
        async_task(task, action_id)
    else:
        transaction.on_commit(lambda: async_task(task, action_id))


def schedule_execution(action_id: int) -> None:
    _enqueue(EXECUTE_TASK, action_id)


def schedule_reconcile(action_id: int) -> None:
    _enqueue(RECONCILE_TASK, action_id)
