"""Agent mode (claim, result), OAuth refresh (httpx MockTransport), holds and releases."""

import httpx
import pytest
from django.core import mail

from autopack_site.errors import Conflict
from conftest import agent_client
from ledger.models import ActionStatus, ExternalAction, ProviderCredential
from ledger.services import action_release, credential_refresh
from ledger.services.credentials import CredentialProblem, credential_access_token
from ledger.tests.conftest import order, product, propose
from tests.factories import make_key

pytestmark = pytest.mark.django_db


def test_agent_mode_claim_once_then_report(actor, ledger_project):
    body = propose(actor, "a-1", "alpaca", "orders.create", order(), mode="agent").json()
    assert body["status"] == "approved"
    claim = actor.post(f"/api/v1/actions/{body['id']}/claim")
    assert claim.status_code == 200, claim.json()
    assert claim.json()["status"] == "executing"
    again = actor.post(f"/api/v1/actions/{body['id']}/claim")
    assert again.status_code == 409
    wrong = actor.post(
        f"/api/v1/actions/{body['id']}/result",
        {"outcome": "succeeded", "payload_hash": "f" * 64},
        format="json",
    )
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "payload_mismatch"
    other_agent = agent_client(make_key(ledger_project, scopes=["read", "actions:write"]))
    stolen = other_agent.post(
        f"/api/v1/actions/{body['id']}/result",
        {"outcome": "succeeded", "payload_hash": body["payload_hash"]},
        format="json",
    )
    assert stolen.status_code == 409 and stolen.json()["error"]["code"] == "lease_lost"
    done = actor.post(
        f"/api/v1/actions/{body['id']}/result",
        {
            "outcome": "succeeded",
            "payload_hash": body["payload_hash"],
            "provider_reference": "order-77",
            "summary": {"status": "accepted", "authorization": "Bearer abcdefghijklmnop"},
        },
        format="json",
    )
    assert done.status_code == 200
    assert done.json()["status"] == "succeeded"
    assert done.json()["response_summary"]["authorization"] == "[redacted]"


def test_platform_actions_cannot_be_claimed_by_agents(actor):
    body = propose(actor, "a-2", "alpaca", "orders.create", order()).json()
    response = actor.post(f"/api/v1/actions/{body['id']}/claim")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "wrong_mode"


def test_agent_mode_waits_for_its_approval_before_a_claim(actor):
    body = propose(actor, "a-3", "shopify", "products.create", product(), mode="agent").json()
    assert body["status"] == "pending_approval"
    assert actor.post(f"/api/v1/actions/{body['id']}/claim").status_code == 409


def oauth_transport(responses: list[httpx.Response], seen: list[httpx.Request]):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses.pop(0)

    return httpx.MockTransport(handler)


@pytest.fixture
def oauth_credential(ledger_project, monkeypatch):
    monkeypatch.setenv("AUTOPACK_TEST_YT_REFRESH", "refresh-canary-0123456789")
    credential = ProviderCredential.objects.get(provider="youtube")
    credential.refresh_token_ref = "AUTOPACK_TEST_YT_REFRESH"
    credential.token_url = "https://oauth2.example.com/token"
    credential.save()
    return credential


def test_oauth_refresh_retries_then_caches_the_token(oauth_credential):
    seen: list[httpx.Request] = []
    transport = oauth_transport(
        [
            httpx.Response(503),
            httpx.Response(200, json={"access_token": "ya29.fresh-token", "expires_in": 3600}),
        ],
        seen,
    )
    assert credential_refresh(oauth_credential, transport=transport) == "ya29.fresh-token"
    assert len(seen) == 2
    assert b"grant_type=refresh_token" in seen[0].content
    assert credential_access_token(oauth_credential) == "ya29.fresh-token"  # cached
    oauth_credential.refresh_from_db()
    assert oauth_credential.last_refresh_at is not None and not oauth_credential.held_reason


def test_failed_refresh_holds_the_providers_actions_and_tells_operators(
    actor, approver, oauth_credential, django_capture_on_commit_callbacks
):
    approver.email = "op@example.com"
    approver.save()
    body = propose(
        actor, "y-1", "youtube", "videos.insert", {"snippet": {"title": "Launch"}}
    ).json()
    ExternalAction.objects.filter(pk=body["id"]).update(status=ActionStatus.APPROVED)
    transport = oauth_transport([httpx.Response(400, json={"error": "invalid_grant"})], [])
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CredentialProblem, match="OAuth refresh failed"),
    ):
        credential_refresh(oauth_credential, transport=transport)
    assert mail.outbox[0].to == ["op@example.com"]
    assert "youtube credential held" in mail.outbox[0].subject
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.HELD
    assert "OAuth refresh failed" in action.error
    oauth_credential.refresh_from_db()
    assert oauth_credential.held_reason
    assert "refresh-canary" not in oauth_credential.held_reason
    health = actor.get("/api/v1/credentials/health").json()["results"]
    assert {r["provider"]: r["state"] for r in health}["youtube"] == "held"
    with pytest.raises(Conflict):  # still held: releasing needs the credential fixed first
        ProviderCredential.objects.filter(pk=oauth_credential.pk).update(held_reason="")
        action_release(action_id=action.pk, user=approver, reason="token re-issued")
        action_release(action_id=action.pk, user=approver, reason="twice")
    # the test forced the action to approved without its approval: released, it asks for one
    assert ExternalAction.objects.get(pk=body["id"]).status == ActionStatus.PENDING_APPROVAL
