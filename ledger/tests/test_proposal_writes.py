"""How a proposal is written: the action in its decided status with its first event, the
decision log row, the queued task and the answer together, or nothing; replays are the answer's
exact bytes."""

import pytest
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from ledger.models import ActionAnswer, ActionEvent, ExternalAction
from ledger.tests.conftest import order, propose
from policies.models import DecisionLog

pytestmark = pytest.mark.django_db


def test_an_allowed_action_lands_with_its_event_log_task_and_answer(actor, ledger_project):
    response = propose(actor, "w-1", "alpaca", "orders.create", order())
    assert response.status_code == 201
    action = ExternalAction.objects.get()
    assert response.json()["id"] == action.pk
    assert bytes(ActionAnswer.objects.get(action=action).body) == response.content
    assert action.status == "approved" and action.next_attempt_at is not None
    [event] = ActionEvent.objects.filter(action=action)
    assert (event.from_status, event.to_status, event.reason) == (
        "",
        "approved",
        "allowed by policy",
    )
    [log] = DecisionLog.objects.filter(project=ledger_project)
    assert log.outcome == "allow" and log.requester == event.actor
    [queued] = OrmQ.objects.all()
    task = SignedPackage.loads(queued.payload)
    assert (task["func"], task["args"]) == ("ledger.tasks.action_execute", (action.pk,))


def test_a_replay_is_byte_for_byte_the_first_answer(actor, ledger_project):
    first = propose(actor, "same", "alpaca", "orders.create", order(qty="2"))
    assert first.status_code == 201
    replay = propose(actor, "same", "alpaca", "orders.create", order(qty="2"))
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert replay.headers["Content-Type"] == "application/json"


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
