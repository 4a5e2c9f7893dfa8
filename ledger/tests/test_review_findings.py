"""What a hostile review of the roles-and-hardening work found, each fixed and held here."""

import json

import pytest
from django.test import Client

from approvals.models import ApprovalRequest
from autopack_site.models import AgentKey, Role
from autopack_site.services import agent_key_revoke, staff_group_sync
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_cancel, action_execute
from ledger.tests.conftest import product, propose
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def webhook(fake, tag):
    return {"url": f"{fake.url}/webhook/review", "event": "review", "data": {"tag": tag}}


def test_an_action_whose_key_was_revoked_meanwhile_is_refused_at_execution(
    actor, ledger_project, fake_provider
):
    body = propose(actor, "r-1", "webhook", "send", webhook(fake_provider, "r-1")).json()
    assert body["status"] == "approved"
    key = AgentKey.objects.get(pk=ExternalAction.objects.get(pk=body["id"]).requested_by_key_id)
    # the revocation's sweep ran before this proposal committed: revoke without it
    AgentKey.objects.filter(pk=key.pk).update(revoked_at=key.created_at)
    assert action_execute(body["id"]) == ActionStatus.FAILED
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.events.last().detail == {"code": "key_revoked"}
    assert fake_provider.state_snapshot()["created"].get("webhook", []) == []


def test_revoking_a_key_cancels_what_it_had_waiting(actor, ledger_project, fake_provider):
    body = propose(actor, "r-2", "webhook", "send", webhook(fake_provider, "r-2")).json()
    key = AgentKey.objects.get(pk=ExternalAction.objects.get(pk=body["id"]).requested_by_key_id)
    agent_key_revoke(key=key, reason="leaked")
    assert ExternalAction.objects.get(pk=body["id"]).status == ActionStatus.CANCELLED


def test_agents_never_see_who_the_operator_was(actor, approver, ledger_project, fake_provider):
    waiting = propose(actor, "r-3", "shopify", "products.create", product()).json()
    action_cancel(action_id=waiting["id"], user=approver, reason="not today")
    response = actor.get("/api/v1/actions/export")
    exported = b"".join(response.streaming_content).decode()
    assert approver.username not in exported
    events = json.loads(exported)[0]["events"]
    assert events[-1]["actor"].startswith("operator:")
    assert ApprovalRequest.objects.filter(pk=waiting["approval"]["id"]).exists()


def test_admin_posts_with_nul_are_refused_before_any_view(ledger_project, approver):
    browser = Client()
    browser.force_login(approver)
    response = browser.post(
        "/admin/ledger/externalaction/",
        {
            "action": "action_cancel",
            "confirmed": "yes",
            "reason": "bad\x00",
            "_selected_action": [],
        },
    )
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_messages_are_not_stored_in_a_cookie(ledger_project):
    owner = make_member(ledger_project, Role.OWNER)
    owner.groups.add(staff_group_sync())
    browser = Client()
    browser.force_login(owner)
    response = browser.post(
        "/admin/autopack_site/agentkey/add/",
        {"project": ledger_project.pk, "name": "cookie-check", "scopes": ["read"]},
    )
    assert response.status_code == 302
    assert AgentKey.objects.filter(name="cookie-check").exists()
    assert "messages" not in response.cookies
