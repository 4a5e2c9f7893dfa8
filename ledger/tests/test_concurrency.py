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
