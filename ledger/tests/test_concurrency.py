"""Races on PostgreSQL with real threads (each has its own connection)."""

import threading

import pytest
from django.db import connection

from conftest import agent_client
from ledger.models import ExternalAction
from ledger.services import action_execute
from ledger.tests.conftest import order, propose
from tests.factories import make_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_threads(count, work):
    barrier = threading.Barrier(count)
    results = [None] * count

    def target(index):
        try:
            barrier.wait()
            results[index] = work(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_64_concurrent_posts_with_one_key_make_one_action_and_one_create(
    ledger_project, fake_provider
):
    key = make_key(ledger_project, scopes=["read", "actions:write"])

    def post(_index):
        response = propose(agent_client(key), "race-1", "alpaca", "orders.create", order())
        return response.status_code, response.json()

    results = in_threads(64, post)
    codes = sorted(code for code, _ in results)
    assert codes.count(201) == 1, codes
    assert set(codes) <= {200, 201, 409}
    ids = {body["id"] for code, body in results if code in (200, 201)}
    assert len(ids) == 1
    assert ExternalAction.objects.count() == 1
    action_id = ids.pop()
    outcomes = in_threads(8, lambda _i: action_execute(action_id))
    assert outcomes.count("succeeded") == 1 and outcomes.count("not_claimed") == 7
    orders = fake_provider.state_snapshot()["created"]["alpaca"]
    assert len(orders) == 1


def _hold_key_uncommitted(project, key_name, holding, release):
    """Another request's transaction: it has inserted the key and not yet committed."""
    from django.db import transaction

    try:
        with transaction.atomic():
            ExternalAction.objects.create(
                project=project,
                idempotency_key=key_name,
                request_hash="0" * 64,
                provider="alpaca",
                action="orders.create",
                payload={},
                payload_hash="0" * 64,
                reference=f"ap-held-{key_name}",
            )
            holding.set()
            release.wait(timeout=30)
            transaction.set_rollback(True)  # the holder never commits
    finally:
        connection.close()


def test_same_key_held_by_an_uncommitted_request_is_409_with_retry_after(ledger_project, settings):
    settings.AUTOPACK_IDEMPOTENCY_WAIT_MS = 300
    key = make_key(ledger_project, scopes=["read", "actions:write"])
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(
        target=_hold_key_uncommitted, args=(ledger_project, "busy-1", holding, release)
    )
    holder.start()
    try:
        assert holding.wait(timeout=10)
        busy = propose(agent_client(key), "busy-1", "alpaca", "orders.create", order())
    finally:
        release.set()
        holder.join(timeout=30)
    assert busy.status_code == 409, busy.json()
    assert busy.json()["error"]["code"] == "request_in_progress"
    assert busy.headers["Retry-After"] == "1"
    assert not ExternalAction.objects.exists()  # the holder rolled back; the 409 wrote nothing
    # the key is free again: the retry the 409 asks for is a first request
    retry = propose(agent_client(key), "busy-1", "alpaca", "orders.create", order())
    assert retry.status_code == 201


def test_a_duplicate_waits_for_the_first_commit_and_replays_it(ledger_project):
    """A concurrent duplicate is not refused: the unique index makes it wait for the first
    request's commit (well inside AUTOPACK_IDEMPOTENCY_WAIT_MS), then it replays that answer."""
    key = make_key(ledger_project, scopes=["read", "actions:write"])
    results = in_threads(
        8,
        lambda _i: propose(agent_client(key), "dup-1", "alpaca", "orders.create", order()),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 7 + [201], codes
    assert len({r.json()["id"] for r in results}) == 1
    assert all(r.json() == results[0].json() for r in results)
