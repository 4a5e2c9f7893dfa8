"""Exactly once across processes, with the broker AUTOPACK_TEST_BROKER names (orm or redis):
two gunicorn instances, two django-q2 clusters and the outbox relay on one PostgreSQL.

* 64 concurrent proposals with one Idempotency-Key, spread over both web servers: one action,
  one provider call.
* Chaos: workers and the relay are SIGKILLed and restarted at random while actions execute and
  the fake provider injects timeouts and 5xx: no request reaches the provider twice for one
  action, and every action ends (succeeded, failed, or handed to an operator).
* Fault points: a web process that dies right after its proposal committed, and a relay that
  dies after handing tasks to the broker but before marking them sent, still end with each
  action executed exactly once.
"""

import random
import threading
import time
from collections import Counter

import httpx
import pytest

from autopack_site.models import OutboxMessage
from ledger.models import ActionStatus, ExternalAction
from ledger.services import actions_dispatch_due
from ledger.tests.conftest import order
from trading.models import TradingAccount
from trading.tests.test_ledger_gate import allowed_check

pytestmark = [pytest.mark.postgres, pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

SETTLED = {
    ActionStatus.SUCCEEDED,
    ActionStatus.FAILED,
    ActionStatus.NEEDS_RECONCILIATION,
    ActionStatus.CANCELLED,
    ActionStatus.EXPIRED,
}


def propose(base_url: str, key: str, idempotency_key: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1/actions",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key},
        timeout=30,
    )


def alpaca(n: int) -> dict:
    """An Alpaca order under a real pre-trade check of the project's trading account (the
    ledger refuses one without); the broker sees the check's client_order_id. The same n is
    the same check (a replay), so a retried proposal carries the same payload."""
    account = TradingAccount.objects.get()
    qty = str(1 + n % 5)
    decision = allowed_check(account, client_order_id=f"cluster-{n}", qty=qty)
    payload = order(qty=qty, decision_id=decision.pk, client_order_id=decision.client_order_id)
    return {"provider": "alpaca", "action": "orders.create", "payload": payload}


def broker_id(action: ExternalAction) -> str:
    """The client_order_id the broker saw for a ledger order (its check's)."""
    return action.payload["client_order_id"]


def webhook(fake_url: str, n: int) -> dict:
    return {
        "provider": "webhook",
        "action": "send",
        "payload": {"url": f"{fake_url}/webhook/chaos", "event": "chaos", "data": {"n": n}},
    }


def settle(timeout: float) -> dict[str, int]:
    """Drives the sweeps from here (the schedules run only once a minute) until every action
    has settled; returns the statuses."""
    deadline = time.monotonic() + timeout
    while True:
        actions_dispatch_due()
        statuses = Counter(ExternalAction.objects.values_list("status", flat=True))
        if set(statuses) <= SETTLED or time.monotonic() > deadline:
            return dict(statuses)
        time.sleep(1.0)


def webhook_deliveries(fake) -> Counter:
    received = fake.state_snapshot()["created"].get("webhook", [])
    return Counter(
        item.get("reference") or item.get("headers", {}).get("X-Autopack-Reference")
        for item in received
    )


def test_sixty_four_concurrent_proposals_with_one_key_make_one_call(
    cluster, governed_key, fake_provider_for_cluster
):
    _project, key = governed_key
    body = alpaca(1)
    barrier = threading.Barrier(64)
    codes: list[int] = []

    def post(index: int) -> None:
        barrier.wait()
        codes.append(propose(cluster.url(index % 2), key, "one-key", body).status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(Counter(codes)) in ([200, 201], [200, 201, 409], [201, 409])
    assert codes.count(201) == 1
    action = ExternalAction.objects.get()
    assert settle(60) == {ActionStatus.SUCCEEDED: 1}
    requests = fake_provider_for_cluster.state_snapshot()["order_requests"]
    assert requests == {broker_id(action): 1}


def test_chaos_kills_workers_and_the_relay_without_duplicates_or_losses(
    cluster, governed_key, fake_provider_for_cluster
):
    _project, key = governed_key
    fake = fake_provider_for_cluster
    for _ in range(6):
        fake.fault(match="/v2/orders", mode="500", count=2)
        fake.fault(match="/v2/orders", mode="slow", count=2, delay=4)  # past the call timeout
        fake.fault(match="/webhook/", mode="drop_after_commit", count=1)
    total = 60
    stop = threading.Event()
    rng = random.Random(20261126)

    def havoc() -> None:
        while not stop.wait(rng.uniform(0.8, 2.0)):
            victim = rng.choice(["worker-a", "worker-b", "relay"])
            cluster.kill(victim)
            time.sleep(0.3)
            if victim == "relay":
                cluster.start_relay()
            else:
                cluster.start_worker(victim)

    chaos = threading.Thread(target=havoc)
    chaos.start()
    try:
        for n in range(total):
            body = alpaca(n) if n % 2 else webhook(fake.url, n)
            response = propose(cluster.url(n % 2), key, f"chaos-{n}", body)
            assert response.status_code == 201, response.text
            time.sleep(0.05)
        time.sleep(8)
    finally:
        stop.set()
        chaos.join(timeout=30)
    for name in ("worker-a", "worker-b"):
        if name not in cluster.processes:
            cluster.start_worker(name)
    if "relay" not in cluster.processes:
        cluster.start_relay()
    statuses = settle(180)
    stuck = [
        (
            a.pk,
            a.provider,
            a.next_attempt_at,
            a.attempts,
            list(a.events.values_list("to_status", "reason", "detail")),
        )
        for a in ExternalAction.objects.exclude(status__in=SETTLED)
    ]
    outbox = list(OutboxMessage.objects.filter(delivered_at__isnull=True).values())
    assert set(statuses) <= SETTLED, (statuses, stuck, outbox)  # nothing lost
    assert sum(statuses.values()) == total
    # exactly once: no action reached the provider twice
    orders = fake.state_snapshot()["order_requests"]
    alpaca_refs = {broker_id(a) for a in ExternalAction.objects.filter(provider="alpaca")}
    created = Counter(o["client_order_id"] for o in fake.state_snapshot()["created"]["alpaca"])
    assert all(count == 1 for count in created.values())
    assert set(created) <= alpaca_refs
    hooks = webhook_deliveries(fake)
    assert all(count == 1 for ref, count in hooks.items() if ref), hooks
    succeeded = ExternalAction.objects.filter(status=ActionStatus.SUCCEEDED)
    for action in succeeded.filter(provider="alpaca"):
        assert created[broker_id(action)] == 1
    for action in succeeded.filter(provider="webhook"):
        assert hooks[action.reference] == 1
    # retries after a 5xx are safe only where the provider deduplicates (Alpaca's ids)
    assert all(orders[ref] >= 1 for ref in created)


def test_a_web_process_dying_after_commit_still_executes_once(
    cluster, governed_key, fake_provider_for_cluster
):
    _project, key = governed_key
    cluster.kill("web0")
    cluster.start_web(0)  # restarted with the fault point armed
    cluster.kill("web0")
    cluster.env["AUTOPACK_FAULT"] = "proposal_committed"
    cluster.start_web(0)
    cluster.env.pop("AUTOPACK_FAULT")
    cluster.wait_until_serving()
    with pytest.raises(httpx.HTTPError):  # the worker process dies before it answers
        propose(cluster.url(0), key, "dies-after-commit", alpaca(3))
    action = ExternalAction.objects.get(idempotency_key="dies-after-commit")
    assert settle(60) == {ActionStatus.SUCCEEDED: 1}
    assert fake_provider_for_cluster.state_snapshot()["order_requests"] == {broker_id(action): 1}
    replay = propose(cluster.url(1), key, "dies-after-commit", alpaca(3))
    assert replay.status_code == 200 and replay.json()["id"] == action.pk


def test_a_relay_dying_between_enqueue_and_marking_sent_executes_once(
    cluster, governed_key, fake_provider_for_cluster
):
    _project, key = governed_key
    cluster.kill("relay")
    cluster.start_relay(AUTOPACK_FAULT="relay_after_enqueue")
    response = propose(cluster.url(1), key, "relay-dies", alpaca(4))
    assert response.status_code == 201
    deadline = time.monotonic() + 30
    while cluster.processes["relay"].poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.processes["relay"].poll() is not None, "the relay never reached the fault"
    cluster.kill("relay")
    cluster.start_relay()
    action = ExternalAction.objects.get(idempotency_key="relay-dies")
    assert settle(60) == {ActionStatus.SUCCEEDED: 1}
    assert fake_provider_for_cluster.state_snapshot()["order_requests"] == {broker_id(action): 1}
