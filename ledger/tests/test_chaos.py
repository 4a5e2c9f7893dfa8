"""Chaos: a real worker process is killed with SIGKILL while its provider call is in flight;
after a restart the action ends with exactly one side effect, or waits for an operator."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_q.tasks import async_task

from ledger.models import ActionStatus, ExternalAction
from ledger.tests.conftest import order, propose, secret_environment
from tests.test_worker import database_url_of_test_db

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def start_worker(fake_url: str, secrets: dict[str, str]) -> subprocess.Popen:
    env = {
        **os.environ,
        **secrets,
        "DATABASE_URL": database_url_of_test_db(),
        "Q_WORKERS": "1",
        "AUTOPACK_PROVIDER_URL_ALPACA": fake_url,
        "AUTOPACK_ACTION_LEASE_SECONDS": "4",
        "AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS": "3",
        "AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(predicate, timeout=60.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def checked_order(project) -> dict:
    """The worker process runs with trading's risk gate (only this process lifts it): the order
    carries a real allowed check, whose client_order_id the broker receives."""
    from trading.tests.conftest import make_account
    from trading.tests.test_ledger_gate import allowed_check

    decision = allowed_check(make_account(project), client_order_id="chaos-1")
    return order(decision_id=decision.pk, client_order_id=decision.client_order_id)


def test_sigkill_mid_call_never_makes_two_side_effects(actor, fake_provider, ledger_project):
    fake_provider.fault(match="/v2/orders", mode="slow", count=1, delay=2.5)
    secrets = secret_environment(ledger_project)
    worker = start_worker(fake_provider.url, secrets)
    try:
        payload = checked_order(ledger_project)
        body = propose(actor, "chaos-1", "alpaca", "orders.create", payload).json()
        action_id = body["id"]
        async_task("ledger.tasks.action_execute", action_id)
        assert wait_for(
            lambda: ExternalAction.objects.get(pk=action_id).status == ActionStatus.EXECUTING
        ), "the worker never claimed the action"
        time.sleep(0.8)  # the call is in flight at the (slow) provider
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

        worker = start_worker(fake_provider.url, secrets)

        def settled():
            async_task("ledger.tasks.actions_dispatch_due")
            status = ExternalAction.objects.get(pk=action_id).status
            final = (ActionStatus.SUCCEEDED, ActionStatus.NEEDS_RECONCILIATION)
            return status if status in final else None

        final = wait_for(settled, timeout=90, every=1.5)
        orders = [
            o
            for o in fake_provider.state_snapshot()["created"].get("alpaca", [])
            if o["client_order_id"] == payload["client_order_id"]
        ]
        assert final is not None, ExternalAction.objects.get(pk=action_id).status
        if final == ActionStatus.SUCCEEDED:
            assert len(orders) == 1
        else:
            assert len(orders) <= 1
        moves = list(
            ExternalAction.objects.get(pk=action_id).events.values_list("to_status", flat=True)
        )
        assert "unknown" in moves  # it went through reconciliation, not a blind retry
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
