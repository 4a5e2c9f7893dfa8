"""Fair use: a per-key request budget (429 + Retry-After; other keys unaffected), long-polls that
hold no database connection while they wait and count against a per-key cap, and a wake-up the
moment the awaited row changes."""

import threading
import time

import httpx
import pytest
from django.db import connection

from approvals.services import approval_decide, approval_request_create
from autopack_site.models import LongPollSlot, Role
from conftest import agent_client
from tests.factories import make_key, make_member, make_project


@pytest.mark.django_db
def test_a_burst_past_the_key_budget_gets_429_and_other_keys_carry_on(settings):
    settings.AUTOPACK_KEY_REQUESTS_PER_MINUTE = 5
    greedy = agent_client(make_key(make_project("greedy")))
    other = agent_client(make_key(make_project("neighbour")))
    answers = [greedy.get("/api/v1/me") for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert other.get("/api/v1/me").status_code == 200


def _pending_approval(project):
    return approval_request_create(
        project=project, kind="patch", subject="run:1:patch", title="t", payload={"n": 1}
    )


@pytest.mark.django_db(transaction=True)
def test_a_decision_wakes_the_waiting_agent_at_once(live_server, settings):
    settings.AUTOPACK_LONG_POLL_RECHECK_SECONDS = 60  # only the wake-up can end the wait early
    project = make_project("waker")
    key = make_key(project)
    operator = make_member(project, Role.OPERATOR)
    request = _pending_approval(project)
    answer = {}

    def wait():
        answer["body"] = httpx.get(
            f"{live_server.url}/api/v1/approvals/{request.pk}?wait=30",
            headers={"Authorization": f"Bearer {key}"},
            timeout=40,
        ).json()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(1)  # the agent is waiting
    approval_decide(
        request_id=request.pk, user=operator, approve=True, payload_hash_seen=request.payload_hash
    )
    waiter.join(timeout=25)  # well before the 30 s wait or the 60 s re-check
    assert not waiter.is_alive()
    assert answer["body"]["status"] == "approved"


def _database_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_waiting_long_polls_hold_no_connections_and_respect_the_cap(live_server, settings):
    settings.AUTOPACK_LONG_POLL_RECHECK_SECONDS = 60
    settings.AUTOPACK_LONG_POLLS_PER_KEY = 10
    project = make_project("pollers")
    keys = [make_key(project) for _ in range(5)]
    request = _pending_approval(project)
    baseline = _database_connections()
    statuses = []

    def poll(key):
        response = httpx.get(
            f"{live_server.url}/api/v1/approvals/{request.pk}?wait=6",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        statuses.append(response.status_code)

    pollers = [threading.Thread(target=poll, args=(keys[i % 5],)) for i in range(50)]
    for poller in pollers:
        poller.start()
    deadline = time.monotonic() + 20
    while LongPollSlot.objects.count() < 50 and time.monotonic() < deadline:
        time.sleep(0.1)  # until all fifty hold their slot and wait
    time.sleep(0.5)
    during = _database_connections()
    over_cap = httpx.get(
        f"{live_server.url}/api/v1/approvals/{request.pk}?wait=6",
        headers={"Authorization": f"Bearer {keys[0]}"},
        timeout=30,
    )
    for poller in pollers:
        poller.join(timeout=30)
    assert statuses == [200] * 50
    # the waiting requests gave their connections back; one listener per process remains
    assert during <= baseline + 2, (baseline, during)
    assert over_cap.status_code == 429
    assert over_cap.json()["error"]["code"] == "throttled"
