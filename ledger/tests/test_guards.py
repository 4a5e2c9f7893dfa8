"""Action guards: what other apps put in front of the ledger (trading limits, publishing gates,
emergency switches) holds, refuses or sends to a human, at proposal and before execution; held
actions go back to the queue by themselves when the guard lets go."""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import approval_decide
from ledger import guards
from ledger.guards import ALLOW, ActionGuard, GuardVerdict
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute, action_release, actions_release_guarded
from ledger.tests.conftest import order, product, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def switch(monkeypatch):
    """A guard on alpaca orders whose answers the test sets."""
    state = {"proposal": ALLOW, "execution": ALLOW}
    guard = ActionGuard(
        name="test-switch",
        provider_glob="alpaca",
        action_glob="orders.*",
        at_proposal=lambda proposed: state["proposal"],
        at_execution=lambda action: state["execution"],
    )
    monkeypatch.setattr(guards, "_guards", {guard.name: guard})
    return state


def test_a_guard_refusal_denies_with_its_reason_code(actor, switch):
    switch["proposal"] = GuardVerdict(refuse=("KILL_SWITCH_ENGAGED", "The kill switch is on."))
    body = propose(actor, "g-1", "alpaca", "orders.create", order()).json()
    assert body["status"] == "denied"
    assert {
        "code": "KILL_SWITCH_ENGAGED",
        "message": "The kill switch is on.",
        "source": "guard",
    } in (body["decision"]["reasons"])


def test_a_guard_can_send_an_allowed_action_to_a_human(actor, switch):
    switch["proposal"] = GuardVerdict(
        needs_approval=("emergency_switch", "Everything is reviewed.")
    )
    body = propose(actor, "g-2", "alpaca", "orders.create", order()).json()
    assert body["status"] == "pending_approval"
    assert body["decision"]["outcome"] == "require_approval"


def test_a_held_proposal_goes_to_the_queue_when_the_guard_lets_go(actor, switch):
    switch["proposal"] = GuardVerdict(hold=("policy_stale", "YouTube's rules were not fetched."))
    switch["execution"] = switch["proposal"]
    body = propose(actor, "g-3", "alpaca", "orders.create", order()).json()
    assert body["status"] == "held"
    assert actions_release_guarded() == 0  # still held
    switch["execution"] = ALLOW
    assert actions_release_guarded() == 1
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.APPROVED and action.held_by == ""
    assert action_execute(action.pk) == ActionStatus.SUCCEEDED


def test_a_guard_holds_a_queued_action_before_the_call(actor, switch, fake_provider):
    body = propose(actor, "g-4", "alpaca", "orders.create", order()).json()
    switch["execution"] = GuardVerdict(hold=("KILL_SWITCH_ENGAGED", "Trading is halted."))
    assert action_execute(body["id"]) == ActionStatus.HELD
    assert not fake_provider.state_snapshot()["created"].get("alpaca")
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.held_by == "guard" and "KILL_SWITCH_ENGAGED" in action.error


def test_a_guard_refusal_before_the_call_fails_the_action(actor, switch, fake_provider):
    body = propose(actor, "g-5", "alpaca", "orders.create", order()).json()
    switch["execution"] = GuardVerdict(refuse=("NO_ALLOWED_CHECK", "No allowed pre-trade check."))
    assert action_execute(body["id"]) == ActionStatus.FAILED
    assert not fake_provider.state_snapshot()["created"].get("alpaca")


def test_a_release_after_the_approval_window_asks_for_a_fresh_approval(
    actor, approver, fake_provider, monkeypatch
):
    body = propose(actor, "g-6", "shopify", "products.create", product()).json()
    action = ExternalAction.objects.get(pk=body["id"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        approval_decide(
            request_id=action.approval_id,
            user=approver,
            approve=True,
            payload_hash_seen=action.payload_hash,
        )
    monkeypatch.delenv("AUTOPACK_TEST_SHOPIFY")  # the secret is missing: held, not consumed
    assert action_execute(action.pk) == ActionStatus.HELD
    first = ApprovalRequest.objects.get(pk=action.approval_id)
    assert first.status == ApprovalStatus.APPROVED  # held before it was used
    ApprovalRequest.objects.filter(pk=first.pk).update(valid_until=timezone.now() - timedelta(1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        action_release(action_id=action.pk, user=approver, reason="secret restored")
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING_APPROVAL
    assert action.approval_id != first.pk
    fresh = ApprovalRequest.objects.get(pk=action.approval_id)
    assert fresh.status == ApprovalStatus.PENDING and fresh.payload_hash == action.payload_hash


def test_revoking_a_key_cancels_what_it_asked_for_that_has_not_happened(
    actor, ledger_project, fake_provider
):
    from autopack_site.models import AgentKey
    from autopack_site.services import agent_key_revoke

    queued = propose(actor, "r-1", "alpaca", "orders.create", order()).json()
    waiting = propose(actor, "r-2", "shopify", "products.create", product()).json()
    done = propose(actor, "r-3", "alpaca", "orders.create", order(qty="2")).json()
    assert action_execute(done["id"]) == ActionStatus.SUCCEEDED
    key = AgentKey.objects.get(project=ledger_project, revoked_at=None)
    agent_key_revoke(key=key, reason="leaked")
    statuses = dict(ExternalAction.objects.values_list("pk", "status"))
    assert statuses[queued["id"]] == ActionStatus.CANCELLED
    assert statuses[waiting["id"]] == ActionStatus.CANCELLED
    assert statuses[done["id"]] == ActionStatus.SUCCEEDED  # what happened stays as it was
    approval = ApprovalRequest.objects.get(pk=waiting["approval"]["id"])
    assert approval.status == ApprovalStatus.CANCELLED
    cancelled = ExternalAction.objects.get(pk=queued["id"]).events.last()
    assert cancelled.detail == {"code": "agent_key_revoked"} and "leaked" in cancelled.reason
