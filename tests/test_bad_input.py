"""Bad input, on every route that reads a body, is a 4xx in the one error shape and writes
nothing: NUL in a nested string (PostgreSQL refuses it in text and jsonb), NaN and Infinity
(not JSON), 1e400 (out of range), nesting past the limit, bidirectional controls in titles.

The routes come from the URLconf and the OpenAPI schema, so a new route that reads a body
fails here until it has a body below.
"""

import json
import re

import pytest
from django.apps import apps
from drf_spectacular.generators import SchemaGenerator

from autopack_site.api.inputs import MAX_JSON_DEPTH
from autopack_site.models import AgentKey, KeyRequestWindow
from conftest import agent_client
from policies.services import policy_save_snapshot
from tests.factories import make_key, make_project
from tests.test_tenancy import agent_url_patterns
from trading.services import account_create

pytestmark = pytest.mark.django_db

PLACEHOLDER = '"__BAD__"'
TITLE = '"__TITLE__"'
DIFF = "--- a/docs/notes.md\n+++ b/docs/notes.md\n@@ -1 +1 @@\n-old\n+new\n"
ORDER = {
    "symbol": "__BAD__",
    "qty": "1",
    "side": "buy",
    "type": "limit",
    "time_in_force": "day",
    "limit_price": "10.00",
}
# route name → (body with "__BAD__" where bad values go, what "__BAD__" is when the body is good)
BODIES = {
    "runs": (
        {
            "family": "fam",
            "run_id": "fresh-run",
            "config": {"model": {"options": ["__BAD__"]}},
            "phases": [{"key": "a", "name": "__TITLE__"}],
        },
        "ok",
    ),
    "run-claim": ({"lease_seconds": "__BAD__"}, 60),
    "run-usage": (
        {"provider": "__TITLE__", "model": "__BAD__", "tokens_in": 1, "tokens_out": 2},
        "gpt",
    ),
    "run-patches": ({"diff": DIFF, "phase": "__BAD__", "title": "__TITLE__"}, "plan"),
    "attempt-complete": ({"outcome": "succeeded", "checkpoint": {"out": ["__BAD__"]}}, "ok"),
    "attempt-heartbeat": ({"lease_seconds": "__BAD__"}, 60),
    "attempt-checkpoint": ({"checkpoint": {"step": {"notes": ["__BAD__"]}}}, "ok"),
    "policy-evaluate": ({"action": {"provider": "alpaca", "action": "__BAD__"}}, "orders.create"),
    "actions": (
        {"provider": "alpaca", "action": "orders.create", "payload": ORDER, "dry_run": True},
        "AAPL",
    ),
    "run-handoff-briefs": (
        {"kind": "research", "strict": "__BAD__", "instructions": "__TITLE__"},
        False,
    ),
    "run-handoffs": (
        {
            "handoff_id": "__HANDOFF__",
            "sections": {"summary": "s", "findings": "__BAD__", "sources": "none"},
            "confidence": 0.5,
        },
        "found",
    ),
    "publish-packets": (
        {
            "provider": "youtube",
            "action": "videos.insert",
            "title": "__TITLE__",
            "tags": ["__BAD__"],
        },
        "ok",
    ),
    "publish-packet-revisions": (
        {
            "provider": "youtube",
            "action": "videos.insert",
            "title": "__TITLE__",
            "tags": ["__BAD__"],
        },
        "ok",
    ),
    "emergency-switch": ({"reason": "__BAD__"}, "checking the brakes"),
    "trading-orders-check": (
        {
            "client_order_id": "fresh-1",
            "symbol": "__BAD__",
            "side": "buy",
            "qty": "1",
            "order_type": "market",
            "reference_price": "10.00",
            "strategy_version": "s1",
        },
        "AAPL",
    ),
    "trading-orders-preview": (
        {
            "client_order_id": "fresh-2",
            "symbol": "AAPL",
            "side": "buy",
            "qty": "__BAD__",
            "order_type": "market",
            "reference_price": "10.00",
            "strategy_version": "s1",
        },
        "1",
    ),
    "trading-orders-report": ({"client_order_id": "__BAD__", "event": "submitted"}, "setup"),
    "trading-equity": ({"equity": "__BAD__"}, "1000.00"),
    "trading-kill-switch": ({"engaged": "__BAD__", "reason": "__TITLE__"}, True),
    "trading-strategies": ({"version": "v1", "content": {"rules": ["__BAD__"]}}, "ok"),
    "action-result": (
        {"outcome": "succeeded", "payload_hash": "__HASH__", "summary": {"r": ["__BAD__"]}},
        "ok",
    ),
}
# (raw JSON put in place of "__BAD__", status, error code, field type or None)
BAD_VALUES = {
    "nul": ('"a\\u0000b"', 422, "validation_error", "string_nul"),
    "nan": ("NaN", 400, "malformed_json", None),
    "infinity": ("Infinity", 400, "malformed_json", None),
    "minus_infinity": ("-Infinity", 400, "malformed_json", None),
    "out_of_range": ("1e400", 422, "validation_error", "number_out_of_range"),
    "too_deep": ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, 400, "json_too_deep", None),
    "far_too_deep": ("[" * 500 + "]" * 500, 400, "json_too_deep", None),
    "nul_key": ('{"k\\u0000": 1}', 422, "validation_error", "string_nul"),
}
NO_BODY = {"action-claim"}  # POST with no request body: nothing to refuse
# multipart uploads: their bad input is below (test_a_multipart_route_refuses_bad_input)
MULTIPART = {"run-artifacts": {"artifact_class": "run_log", "sha256": "0" * 64}}


def body_routes() -> dict[str, str]:
    """Route name → URL pattern, for every agent route whose schema has a request body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    with_body = {
        path
        for path, operations in schema["paths"].items()
        if any("requestBody" in operation for operation in operations.values())
    }
    found = {}
    for route, view_class, name in agent_url_patterns():
        if "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route) in with_body:
            found[name] = route
        elif hasattr(view_class, "post"):
            assert name in NO_BODY, f"{route} takes a POST without a documented body"
    return found


@pytest.fixture
def world(db):
    """One project with a run, a leased attempt and an agent-mode action claimed by the key."""
    project = make_project("inputs")
    policy_save_snapshot(
        project=project,
        snapshot={
            "safety_profile": "normal",
            "first_run_requires_approval": False,
            "action_rules": [
                {"provider_glob": "alpaca", "action_glob": "*", "effect": "allow"},
            ],
        },
        editor=None,
        reason="bad input tests",
    )
    client = agent_client(
        make_key(project, scopes=["read", "runs:write", "actions:write", "trading:write"])
    )
    run = client.post(
        "/api/v1/runs",
        {"family": "f", "run_id": "r", "phases": [{"key": "plan"}, {"key": "other"}]},
        format="json",
    ).json()
    attempt = client.post(f"/api/v1/runs/{run['id']}/claim", {}, format="json").json()
    account = account_create(project=project, name="bot", mode="paper", actor="test")
    checked = client.post(
        f"/api/v1/trading/accounts/{account.pk}/orders/check",
        {
            "client_order_id": "setup",
            "symbol": "AAPL",
            "side": "buy",
            "qty": "1",
            "order_type": "limit",
            "limit_price": "10.00",
            "reference_price": "10.00",
            "strategy_version": "s1",
        },
        format="json",
    ).json()
    assert checked["allowed"], checked
    order = {
        **ORDER,
        "symbol": "AAPL",
        "decision_id": checked["decision_id"],
        "client_order_id": "setup",
    }
    action = client.post(
        "/api/v1/actions",
        {"provider": "alpaca", "action": "orders.create", "payload": order, "mode": "agent"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="setup",
    ).json()
    assert client.post(f"/api/v1/actions/{action['id']}/claim").status_code == 200
    handoff = client.post(
        f"/api/v1/runs/{run['id']}/handoffs/briefs", {"kind": "research"}, format="json"
    ).json()
    packet = client.post(
        "/api/v1/publish-packets",
        {"provider": "youtube", "action": "videos.insert", "title": "t"},
        format="json",
    ).json()
    ids = {
        "run_pk": run["id"],
        "attempt_pk": attempt["attempt"]["id"],
        "action_pk": action["id"],
        "handoff_pk": handoff["id"],
        "packet_pk": packet["id"],
        "account_pk": account.pk,
    }
    return client, ids, action["payload_hash"]


APPS_AGENTS_WRITE = {"autopack_site", "runs", "ledger", "approvals", "policies", "trading"}


def everything() -> dict[str, list[dict]]:
    """Every row of every table an agent request could write (a key's last use and its
    fair-use counter aside: every request counts, refused or not)."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in {
            "autopack_site",
            "runs",
            "ledger",
            "approvals",
            "policies",
            "artifacts",
            "publishing",
            "trading",
        }:
            if model in (AgentKey, KeyRequestWindow):
                continue
            state[model._meta.label] = list(model.objects.order_by("pk").values())
        if model._meta.app_label == "django_q":
            state[model._meta.label] = model.objects.count()
    return state


ROUTES = body_routes()


def test_every_route_with_a_body_is_covered():
    assert set(ROUTES) == set(BODIES) | set(MULTIPART), "add a body for each new route to BODIES"


@pytest.mark.parametrize("name", sorted(MULTIPART))
def test_a_multipart_route_refuses_bad_input(world, name):
    """JSON where a form belongs is 415; NUL in a field, or no file, is 422; nothing written."""
    client, ids, _ = world
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), ROUTES[name])
    before = everything()
    response = client.generic("POST", path, b"{}", content_type="application/json")
    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"]
    fields = dict(MULTIPART[name])
    assert client.post(path, fields, format="multipart").status_code == 422
    from django.core.files.uploadedfile import SimpleUploadedFile

    nul = {**fields, "name": "a\x00b", "file": SimpleUploadedFile("f.txt", b"x")}
    response = client.post(path, nul, format="multipart")
    assert response.status_code == 422, response.content
    assert everything() == before


def send(client, route: str, ids: dict, raw: str, key: str):
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), route)
    return client.generic(
        "POST", path, raw.encode(), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.mark.parametrize("name", sorted(BODIES))
def test_bad_input_is_a_4xx_and_writes_nothing(world, name):
    client, ids, payload_hash = world
    route = ROUTES[name]
    template, good = BODIES[name]
    text = json.dumps(template).replace("__HASH__", payload_hash)
    text = text.replace('"__HANDOFF__"', str(ids.get("handoff_pk")))
    assert PLACEHOLDER in text
    before = everything()
    for label, (raw, status, code, field_type) in BAD_VALUES.items():
        bad = text.replace(PLACEHOLDER, raw).replace(TITLE, '"A title"')
        response = send(client, route, ids, bad, key=f"bad-{label}")
        assert response.status_code == status, (name, label, response.content)
        error = response.json()["error"]
        assert error["code"] == code, (name, label, error)
        if field_type:
            assert error["details"]["fields"][0]["type"] == field_type, (name, label, error)
        assert everything() == before, (name, label)
    if TITLE in text:
        bidi = text.replace(PLACEHOLDER, json.dumps(good)).replace(TITLE, '"safe\\u202etxt.exe"')
        response = send(client, route, ids, bidi, key="bad-bidi")
        assert response.status_code == 422, (name, response.content)
        assert response.json()["error"]["details"]["fields"][0]["type"] == "bidi_control"
        assert everything() == before, name
    good_body = text.replace(PLACEHOLDER, json.dumps(good)).replace(TITLE, '"A title"')
    response = send(client, route, ids, good_body, key="good")
    assert 200 <= response.status_code < 300, (name, response.content)


@pytest.mark.parametrize(
    ("route", "body"),
    [("api/v1/actions", BODIES["actions"][0]), ("api/v1/runs/<run_pk>/claim", {})],
)
@pytest.mark.parametrize("header", ["k" * 256, "tab\tkey", "", "é-key"])
def test_a_bad_idempotency_key_is_400_and_writes_nothing(world, route, body, header):
    client, ids, _ = world
    text = json.dumps(body).replace(PLACEHOLDER, '"AAPL"')
    before = everything()
    response = send(client, route, ids, text, key=header)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in {"idempotency_key_invalid"}
    assert everything() == before


def test_nul_in_a_query_string_is_422(world):
    client, _, _ = world
    for path in ("/api/v1/runs", "/api/v1/approvals", "/api/v1/actions/export"):
        response = client.get(path, {"status": "a\x00b", "since": "2020\x00", "run": "1\x00"})
        assert response.status_code == 422, (path, response.content)
        assert response.json()["error"]["details"]["fields"][0]["type"] == "string_nul"


@pytest.mark.parametrize("run_pk", ["9223372036854775808", "99999999999999999999999"])
def test_an_id_past_64_bits_is_a_json_404(world, run_pk):
    client, _, _ = world
    response = client.get(f"/api/v1/runs/{run_pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
