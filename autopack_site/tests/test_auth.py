import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from autopack_site.keys import hash_key
from autopack_site.models import AgentKey
from autopack_site.services import agent_key_revoke
from conftest import agent_client
from tests.factories import make_key

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_me_returns_the_keys_project_and_scopes(agent, project):
    response = agent.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["project"] == project.slug
    assert response.json()["scopes"] == ["read", "runs:write"]


def test_no_key_is_401_in_the_error_shape(client):
    response = client.get("/api/v1/me")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    ["Bearer apk_000000000000_nope", "Bearer garbage", "Token abc", "Bearer", "Bearer a b"],
)
def test_bad_keys_are_401(client, project, header):
    make_key(project)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "authentication_failed")


def test_a_key_with_a_right_prefix_and_wrong_secret_is_refused(client, project):
    key = make_key(project)
    forged = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert_error(response, 401, "authentication_failed")


def test_revoked_key_is_401(project):
    plaintext = make_key(project, name="soon-revoked")
    key = AgentKey.objects.get(name="soon-revoked")
    agent_key_revoke(key=key, reason="leaked")
    response = agent_client(plaintext).get("/api/v1/me")
    assert_error(response, 401, "authentication_failed")
    assert "revoked" in response.json()["error"]["message"]


def test_missing_scope_is_403(project):
    read_only = agent_client(make_key(project, scopes=["read"]))
    response = read_only.post(
        "/api/v1/runs", {"family": "f", "run_id": "r", "phases": [{"key": "a"}]}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert "runs:write" in response.json()["error"]["message"]


def test_key_is_stored_only_as_prefix_and_hmac(project):
    plaintext = make_key(project, name="stored")
    key = AgentKey.objects.get(name="stored")
    assert plaintext not in str(AgentKey.objects.filter(pk=key.pk).values().first())
    assert key.key_hash == hash_key(plaintext)
    assert plaintext.startswith(f"apk_{key.prefix}_")


def test_last_used_is_recorded_coarsely(agent, project):
    agent.get("/api/v1/me")
    key = AgentKey.objects.get(project=project)
    first_use = key.last_used_at
    assert first_use is not None and (timezone.now() - first_use).total_seconds() < 5
    agent.get("/api/v1/me")
    key.refresh_from_db()
    assert key.last_used_at == first_use  # within a minute: no write per request


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_bearer_scheme_is_case_insensitive(project, scheme):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {make_key(project)}")
    assert client.get("/api/v1/me").status_code == 200


@pytest.mark.parametrize(
    "token", ["apk_\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00_x", "k" * 5000]
)
def test_a_key_that_is_not_printable_ascii_is_401_before_any_lookup(db, token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(client.get("/api/v1/me"), 401, "authentication_failed")
