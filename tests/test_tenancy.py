"""Every agent URL, called with another project's key, answers 404/403 and never leaks data."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from approvals.services import approval_request_create
from autopack_site.api.base import ProjectScopedAPIView
from conftest import agent_client
from ledger.models import ExternalAction
from publishing.models import PublishPacket
from runs.services import phase_claim_next
from tests.factories import make_key, make_project, make_run
from trading.services import account_create

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = {"api/v1/health"}
# Parameters that name no row: the answer is about the key's own project (a provider's gate).
OWN_PROJECT_PARAMETERS = {"provider": "youtube"}


def agent_url_patterns():
    """(route, view class, URL name) for every pattern under /api/v1/."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.startswith("api/v1/"):
                    found.append((route, pattern.callback.view_class, pattern.name))

    walk(get_resolver().url_patterns, "")
    return found


from tests.role_matrix.world import make_artifact, make_handoff  # noqa: E402


def test_every_agent_view_is_project_scoped():
    for route, view_class, _name in agent_url_patterns():
        if route in PUBLIC_PATHS:
            continue
        assert issubclass(view_class, ProjectScopedAPIView), route


def test_outsider_key_gets_404_or_403_on_every_url_and_never_data():
    owner = make_project("owner")
    run = make_run(owner, run_id="secret-run-id")
    attempt = phase_claim_next(run=run, claimed_by_key=None).attempt
    approval = approval_request_create(
        project=owner,
        kind="patch",
        subject=f"run:{run.pk}:patch",
        title="secret-run-id approval",
        payload={"diff": "secret-run-id"},
    )
    action = ExternalAction.objects.create(
        project=owner,
        idempotency_key="secret-run-id",
        request_hash="0" * 64,
        provider="webhook",
        action="send",
        payload={"secret": "secret-run-id"},
        payload_hash="0" * 64,
        status="approved",
        mode="agent",
        reference="ap-secret-run-id",
    )
    ids = {
        "run_pk": run.pk,
        "attempt_pk": attempt.pk,
        "approval_pk": approval.pk,
        "action_pk": action.pk,
        "artifact_pk": make_artifact(owner).pk,
        "handoff_pk": make_handoff(owner, run).pk,
        "packet_pk": PublishPacket.objects.create(
            project=owner,
            provider="youtube",
            action="videos.insert",
            title="secret-run-id",
            content_hash="0" * 64,
            status="pending_approval",
        ).pk,
        **OWN_PROJECT_PARAMETERS,
        "account_pk": account_create(
            project=owner, name="secret-run-id", mode="paper", actor="test"
        ).pk,
    }
    outsider = agent_client(
        make_key(
            make_project("outsider"),
            scopes=["read", "runs:write", "actions:write", "trading:write"],
        )
    )
    checked = 0
    for route, view_class, _name in agent_url_patterns():
        if route in PUBLIC_PATHS:
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), route)
        for method in ("get", "post"):
            if not hasattr(view_class, method):
                continue
            response = getattr(outsider, method)(path, {}, format="json")
            body = (
                b"".join(response.streaming_content) if response.streaming else response.content
            ).decode()
            assert "secret-run-id" not in body, (method, path)
            if "<" in route and not any(f":{p}>" in route for p in OWN_PROJECT_PARAMETERS):
                assert response.status_code in (403, 404), (method, path, response.status_code)
            else:
                # Collection endpoints answer with the outsider's own (empty) data.
                assert response.status_code in (200, 201, 400, 403, 404, 422), (method, path)
            checked += 1
    assert checked >= 10
    attempt.refresh_from_db()
    assert attempt.status == "leased"
    action.refresh_from_db()
    assert action.status == "approved"  # the outsider could not claim it
