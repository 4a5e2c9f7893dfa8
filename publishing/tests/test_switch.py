"""The emergency switch: engaged (by an operator or an agent, with a reason), an action the
policy would allow waits for a person, a queued one does not execute, and only an owner
releases it (a superuser the installation's); every change is an event."""

import pytest
from django.contrib.auth.models import User
from django.test import TestCase

from approvals.services import approval_decide
from autopack_site.errors import Forbidden, Unprocessable
from autopack_site.models import Role
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute, actions_release_guarded
from ledger.tests.conftest import order
from publishing.models import EmergencySwitch, SwitchEvent, SwitchStatus
from publishing.switch import (
    emergency_switch_engage,
    emergency_switch_engage_by_user,
    emergency_switch_release,
)
from publishing.tests.conftest import propose
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def _engage(client, reason="the agent misbehaves"):
    return client.post("/api/v1/emergency-switch", {"reason": reason}, format="json")


def test_engaged_an_allowed_action_waits_for_a_person_and_a_queued_one_is_held(
    actor, approver, publishing_project, fake_provider
):
    queued = propose(actor, "s-1", "alpaca", "orders.create", order()).json()
    assert queued["status"] == "approved"
    response = _engage(actor)
    assert response.status_code == 200 and response.json()["engaged"] is True

    body = propose(actor, "s-2", "alpaca", "orders.create", order(qty="2")).json()
    assert body["status"] == "pending_approval"
    reasons = {r["code"]: r["message"] for r in body["decision"]["reasons"]}
    assert "the agent misbehaves" in reasons["emergency_switch_engaged"]

    assert action_execute(queued["id"]) == ActionStatus.HELD
    held = ExternalAction.objects.get(pk=queued["id"])
    assert held.held_by == "guard" and "the agent misbehaves" in held.error
    assert not fake_provider.state_snapshot()["created"].get("alpaca")

    # a person approving it under the switch is the review the switch asks for
    waiting = ExternalAction.objects.get(pk=body["id"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        approval_decide(
            request_id=waiting.approval_id,
            user=approver,
            approve=True,
            payload_hash_seen=waiting.payload_hash,
        )
    assert action_execute(waiting.pk) == ActionStatus.SUCCEEDED

    # the held one goes back to the queue by itself once an owner releases the switch
    assert actions_release_guarded() == 0
    owner = make_member(publishing_project, Role.OWNER)
    switch = EmergencySwitch.objects.get(project=publishing_project)
    with TestCase.captureOnCommitCallbacks(execute=True):
        emergency_switch_release(switch_id=switch.pk, user=owner, reason="fixed")
    assert actions_release_guarded() == 1
    assert action_execute(queued["id"]) == ActionStatus.SUCCEEDED
    events = list(SwitchEvent.objects.filter(switch=switch).values_list("to_status", "actor"))
    assert [to for to, _ in events] == ["released", "engaged", "released"]
    assert events[1][1].startswith("agent:") and events[2][1] == f"user:{owner.username}"


def test_an_agent_key_cannot_release_the_switch(actor, approver, publishing_project):
    _engage(actor)
    switch = EmergencySwitch.objects.get(project=publishing_project)
    for method in ("delete", "put", "patch"):
        assert (
            getattr(actor, method)("/api/v1/emergency-switch", {}, format="json").status_code == 405
        )
    assert _engage(actor, "again").json()["engaged"] is True  # engaging again changes nothing
    with pytest.raises(Forbidden):
        emergency_switch_release(switch_id=switch.pk, user=None)
    with pytest.raises(Forbidden):  # operators engage; only owners release
        emergency_switch_release(switch_id=switch.pk, user=approver)
    switch.refresh_from_db()
    assert switch.status == SwitchStatus.ENGAGED and switch.engage_reason == "the agent misbehaves"


def test_engaging_needs_a_reason_and_the_role(actor, approver, publishing_project):
    assert _engage(actor, "").status_code == 422
    with pytest.raises(Unprocessable):
        emergency_switch_engage(project=publishing_project, actor="user:x", reason="  ")
    viewer = make_member(publishing_project, Role.VIEWER)
    with pytest.raises(Forbidden):
        emergency_switch_engage_by_user(project=publishing_project, user=viewer, reason="no")
    emergency_switch_engage_by_user(project=publishing_project, user=approver, reason="checking")
    assert EmergencySwitch.objects.get(project=publishing_project).status == "engaged"


def test_the_installation_switch_stops_every_project(actor, publishing_project, fake_provider):
    root = User.objects.create_superuser(username="root", email="")
    emergency_switch_engage_by_user(project=None, user=root, reason="provider incident")
    body = propose(actor, "s-3", "alpaca", "orders.create", order()).json()
    assert body["status"] == "pending_approval"
    state = actor.get("/api/v1/emergency-switch").json()
    assert state["engaged"] and state["switches"][0]["scope"] == "installation"
    owner = make_member(publishing_project, Role.OWNER)
    switch = EmergencySwitch.objects.get(project=None)
    with pytest.raises(Forbidden):  # a project's owner does not own the installation
        emergency_switch_release(switch_id=switch.pk, user=owner)
    emergency_switch_release(switch_id=switch.pk, user=root)
    body = propose(actor, "s-4", "alpaca", "orders.create", order(qty="3")).json()
    assert body["status"] == "approved"


def test_an_agent_mode_action_is_held_at_claim_while_engaged(actor, publishing_project):
    body = propose(actor, "s-5", "alpaca", "orders.create", order(), mode="agent").json()
    assert body["status"] == "approved"
    _engage(actor)
    claim = actor.post(f"/api/v1/actions/{body['id']}/claim")
    assert claim.status_code == 409
    assert claim.json()["error"]["code"] == "emergency_switch_engaged"
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.HELD and action.held_by == "guard"
