"""How a proposal is written: the action in its decided status with its answer, the decision log
row, the first event and the queued task together, or nothing."""

import pytest
from django.db import DataError
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from autopack_site.db.rows import fetch_one, insert_together, next_id_sql
from ledger.models import ActionEvent, ExternalAction
from ledger.tests.conftest import order, propose
from policies.models import DecisionLog

pytestmark = pytest.mark.django_db


def test_an_allowed_action_lands_with_its_answer_log_event_and_task(actor, ledger_project):
    response = propose(actor, "w-1", "alpaca", "orders.create", order())
    assert response.status_code == 201
    action = ExternalAction.objects.get()
    assert response.json()["id"] == action.pk
    assert action.response_body == response.json()
    assert action.status == "approved" and action.next_attempt_at is not None
    [event] = ActionEvent.objects.filter(action=action)
    assert (event.from_status, event.to_status, event.detail) == (
        "received",
        "approved",
        {"by": "policy"},
    )
    [log] = DecisionLog.objects.filter(project=ledger_project)
    assert log.outcome == "allow" and log.requester == event.actor
    [queued] = OrmQ.objects.all()
    task = SignedPackage.loads(queued.payload)
    assert (task["func"], task["args"]) == ("ledger.tasks.action_execute", (action.pk,))


def test_a_reference_collision_writes_nothing_and_asks_for_a_retry(
    actor, ledger_project, monkeypatch
):
    monkeypatch.setattr("ledger.services.proposals.secrets.token_hex", lambda n: "0" * (2 * n))
    assert propose(actor, "c-1", "alpaca", "orders.create", order()).status_code == 201
    clash = propose(actor, "c-2", "alpaca", "orders.create", order())
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "request_in_progress"
    assert ExternalAction.objects.count() == 1
    assert ActionEvent.objects.count() == 1
    assert DecisionLog.objects.filter(project=ledger_project).count() == 1
    assert OrmQ.objects.count() == 1


def _action(project, key, **fields):
    return ExternalAction(
        project=project,
        idempotency_key=key,
        request_hash="0" * 64,
        provider="alpaca",
        action="orders.create",
        payload={"n": 1},
        payload_hash="0" * 64,
        reference=f"ap-{key}",
        **fields,
    )


@pytest.mark.postgres
def test_insert_together_types_nulls_and_refuses_over_long_values(project):
    first_id = fetch_one(f"SELECT {next_id_sql(ExternalAction)}", [])[0]
    first = _action(project, "first", pk=first_id)
    second = _action(project, "second", run=None)  # a NULL in a dependent's SELECT list
    event = ActionEvent(action_id=first_id, to_status="approved", actor="x" * 201)
    with pytest.raises(DataError):  # an over-long string is an error, never cut
        insert_together(first, [second, event], lock_timeout_ms=1000)
    assert not ExternalAction.objects.exists() and not ActionEvent.objects.exists()

    event.actor = "agent:test"
    assert insert_together(first, [second, event], lock_timeout_ms=1000) is True
    assert ExternalAction.objects.count() == 2
    assert ActionEvent.objects.get().action_id == first_id
    assert ExternalAction.objects.get(idempotency_key="second").run_id is None

    again = _action(project, "first", pk=first_id + 1000)
    again_event = ActionEvent(action_id=first_id + 1000, to_status="approved", actor="a")
    assert insert_together(again, [again_event], lock_timeout_ms=1000) is False  # key taken
    assert ActionEvent.objects.count() == 1
