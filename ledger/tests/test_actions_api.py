"""POST /api/v1/actions: every status code of the idempotency contract, and the decision flow."""

import json

import pytest

from approvals.models import ApprovalRequest
from autopack_site.canonical import sha256_of
from autopack_site.project_secrets import secret_variable
from conftest import agent_client
from ledger.models import ExternalAction
from ledger.tests.conftest import CANARIES, order, product, propose
from tests.factories import make_key

pytestmark = pytest.mark.django_db


def test_missing_or_invalid_idempotency_key_is_400_and_changes_nothing(actor):
    body = {"provider": "alpaca", "action": "orders.create", "payload": order()}
    missing = actor.post("/api/v1/actions", body, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    for bad in ("", "x" * 256, "naïve", "tab\there"):
        response = actor.post("/api/v1/actions", body, format="json", HTTP_IDEMPOTENCY_KEY=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert not ExternalAction.objects.exists()


def test_first_201_then_replay_200_with_the_original_body(actor):
    first = propose(actor, "k-1", "alpaca", "orders.create", order())
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "approved"
    assert "Idempotent-Replayed" not in first.headers
    again = propose(actor, "k-1", "alpaca", "orders.create", order())
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ExternalAction.objects.count() == 1


def test_same_key_with_another_payload_is_422(actor):
    propose(actor, "k-2", "alpaca", "orders.create", order())
    other = propose(actor, "k-2", "alpaca", "orders.create", order(qty="2"))
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert ExternalAction.objects.count() == 1


def test_keys_are_per_project(actor, ledger_project, other_project):
    propose(actor, "shared", "alpaca", "orders.create", order())
    stranger = agent_client(make_key(other_project, scopes=["actions:write", "read"]))
    response = propose(stranger, "shared", "alpaca", "orders.create", order())
    assert response.status_code == 201  # no policy there: a human decides
    assert response.json()["status"] == "pending_approval"


def test_invalid_payload_is_422_with_field_paths(actor):
    response = propose(actor, "k-4", "alpaca", "orders.create", {"symbol": "AAPL", "side": "up"})
    assert response.status_code == 422
    paths = {f["path"] for f in response.json()["error"]["details"]["fields"]}
    assert "payload.qty" in paths and "payload.side" in paths
    unknown = propose(actor, "k-5", "nowhere", "x", {})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_provider"
    extra = propose(actor, "k-6", "alpaca", "orders.create", order(note="hi"))
    assert extra.status_code == 422
    assert not ExternalAction.objects.exists()


def test_a_credential_in_the_payload_is_refused(actor):
    response = propose(
        actor,
        "k-7",
        "webhook",
        "send",
        {
            "url": "https://hooks.example.com/x",
            "event": "e",
            "data": {"api_key": "sk_live_abcdefghijklmnop"},
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "credential_in_payload"
    assert "sk_live" not in response.content.decode()
    assert not ExternalAction.objects.exists()


def test_missing_scope_is_403(ledger_project):
    reader = agent_client(make_key(ledger_project, scopes=["read"]))
    assert propose(reader, "k", "alpaca", "orders.create", order()).status_code == 403


def test_deny_records_the_reasons(actor):
    listing = {
        "shop_id": 1,
        "quantity": 1,
        "title": "Mug",
        "description": "A mug",
        "price": "10.00",
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1,
    }
    response = propose(actor, "k-8", "etsy", "listings.create_draft", listing)
    body = response.json()
    assert response.status_code == 201, body
    assert body["status"] == "denied"
    assert body["decision"]["reasons"][0]["message"] == "No Etsy listings from agents."


def test_require_approval_binds_the_approval_to_the_payload_and_renders_it(actor):
    response = propose(actor, "k-9", "shopify", "products.create", product())
    body = response.json()
    assert body["status"] == "pending_approval"
    approval = ApprovalRequest.objects.get(pk=body["approval"]["id"])
    assert (
        approval.payload_hash
        == body["payload_hash"]
        == sha256_of({"provider": "shopify", "action": "products.create", "payload": product()})
    )
    rendered = approval.explanation["rendered_request"]
    assert rendered["method"] == "POST" and "graphql" in rendered["url"]
    assert approval.explanation["side_effects"][0]["type"] == "create"
    assert not any(canary in json.dumps(rendered) for canary in CANARIES)


def test_over_the_amount_limit_needs_approval(actor):
    body = propose(actor, "k-10", "alpaca", "orders.create", order(qty="20")).json()
    assert body["status"] == "pending_approval"
    assert body["decision"]["reasons"][0]["code"] == "condition_unmet"


def test_dry_run_renders_and_never_executes(actor):
    body = propose(actor, "k-11", "alpaca", "orders.create", order(), dry_run=True).json()
    assert body["status"] == "dry_run"
    assert body["rendered_request"]["body"]["client_order_id"] == body["reference"]
    assert body["side_effects"][0]["type"] == "trade"
    assert not any(canary in json.dumps(body) for canary in CANARIES)


def test_get_and_long_poll_and_scoping(actor, other_project):
    body = propose(actor, "k-12", "shopify", "products.create", product()).json()
    got = actor.get(f"/api/v1/actions/{body['id']}?wait=1")
    assert got.status_code == 200 and got.json()["status"] == "pending_approval"
    stranger = agent_client(make_key(other_project))
    assert stranger.get(f"/api/v1/actions/{body['id']}").status_code == 404


def test_providers_list_their_actions_with_json_schemas(actor):
    body = actor.get("/api/v1/providers").json()
    names = {p["name"]: p for p in body["results"]}
    assert set(names) >= {"webhook", "youtube", "etsy", "shopify", "alpaca"}
    schema = {a["name"]: a for a in names["alpaca"]["actions"]}["orders.create"]["json_schema"]
    assert "symbol" in schema["properties"]


def test_credentials_health_shows_state_without_secrets(actor, ledger_project, monkeypatch):
    monkeypatch.delenv(secret_variable(ledger_project.slug, "YOUTUBE_TOKEN"))
    body = actor.get("/api/v1/credentials/health").json()
    states = {row["provider"]: row["state"] for row in body["results"]}
    assert states["alpaca"] == "ok" and states["youtube"] == "missing_secret"
    assert not any(canary in json.dumps(body) for canary in CANARIES)


def test_export_streams_the_actions_of_a_run_or_a_time_range(actor, ledger_project):
    from tests.factories import make_run

    run = make_run(ledger_project)
    propose(actor, "k-13", "alpaca", "orders.create", order(), run=run.pk)
    propose(actor, "k-14", "alpaca", "orders.create", order(qty="2"))
    response = actor.get(f"/api/v1/actions/export?run={run.pk}")
    assert response.status_code == 200
    rows = json.loads(b"".join(response.streaming_content))
    assert [r["idempotency_key"] for r in rows] == ["k-13"]
    assert rows[0]["events"][0]["to"] in ("approved", "received")
    everything = json.loads(b"".join(actor.get("/api/v1/actions/export").streaming_content))
    assert len(everything) == 2


def test_callback_urls_into_private_networks_are_refused(actor):
    response = propose(
        actor,
        "cb-1",
        "alpaca",
        "orders.create",
        order(),
        callback_url="http://169.254.169.254/latest/meta-data/",
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"] == "callback_url"
    assert not ExternalAction.objects.exists()
