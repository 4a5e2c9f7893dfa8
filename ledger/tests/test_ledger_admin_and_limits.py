"""The needs-reconciliation list in the admin, the shared rate limit, append-only events."""

import pytest
from django.db import DatabaseError, connection, transaction

from autopack_site.demo import operators_group
from ledger.models import ActionEvent, ActionStatus, ExternalAction
from ledger.services import action_execute
from ledger.tests.conftest import order, propose

pytestmark = pytest.mark.django_db


def test_operator_records_an_outcome_from_the_needs_reconciliation_list(client, actor, approver):
    approver.groups.add(operators_group())
    body = propose(actor, "n-1", "alpaca", "orders.create", order()).json()
    ExternalAction.objects.filter(pk=body["id"]).update(status=ActionStatus.NEEDS_RECONCILIATION)
    client.force_login(approver)
    listing = client.get("/admin/ledger/externalaction/?attention=reconcile").content.decode()
    assert "needs_reconciliation" in listing and "orders.create" in listing
    form = {"action": "action_record_succeeded", "_selected_action": [body["id"]]}
    confirm = client.post("/admin/ledger/externalaction/", form)
    assert "Reason (required)" in confirm.content.decode()
    client.post(
        "/admin/ledger/externalaction/",
        {**form, "confirmed": "yes", "reason": "found order 42 at the broker"},
    )
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.SUCCEEDED
    last = action.events.last()
    assert last.actor == f"user:{approver.username}"
    assert last.detail["reason"] == "found order 42 at the broker"


def test_the_provider_budget_is_shared_and_a_call_over_it_waits(actor, settings):
    settings.AUTOPACK_PROVIDER_RATE_LIMITS = {**settings.AUTOPACK_PROVIDER_RATE_LIMITS, "alpaca": 1}
    settings.AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS = 0
    first = propose(actor, "rl-1", "alpaca", "orders.create", order()).json()
    second = propose(actor, "rl-2", "alpaca", "orders.create", order(qty="2")).json()
    assert action_execute(first["id"]) == ActionStatus.SUCCEEDED
    assert action_execute(second["id"]) == ActionStatus.APPROVED  # rescheduled, not called
    waiting = ExternalAction.objects.get(pk=second["id"])
    assert waiting.attempts == 0 and waiting.next_attempt_at is not None
    event = waiting.events.filter(to_status="approved").last()
    assert event.detail["code"] == "rate_limited_locally"


@pytest.mark.postgres
def test_action_events_are_append_only_in_the_database(actor):
    propose(actor, "ev-1", "alpaca", "orders.create", order())
    assert ActionEvent.objects.exists()
    for sql in ("UPDATE ledger_actionevent SET actor = 'x'", "DELETE FROM ledger_actionevent"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
