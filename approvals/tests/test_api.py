"""Agents submit patches, ask the policy, and read (long-poll) approvals; they never decide."""

import threading
import time

import pytest
from django.db import connection

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import approval_decide
from autopack_site.models import Role
from conftest import agent_client
from policies.models import DecisionLog
from policies.services import policy_apply_template
from runs.models import Patch
from tests.factories import make_key, make_member, make_project, make_run

pytestmark = pytest.mark.django_db

DOCS_DIFF = """diff --git a/docs/a.md b/docs/a.md
--- a/docs/a.md
+++ b/docs/a.md
@@ -1 +1,2 @@
 intro
+more
"""
SRC_DIFF = DOCS_DIFF.replace("docs/a.md", "src/tools/a.py")


@pytest.fixture
def governed(project):
    policy_apply_template(project=project, template="autopack", editor=None)
    make_run(project, run_id="first")  # later runs are not the project's first
    return make_run(project, run_id="second")


def submit(agent, run, diff, **extra):
    return agent.post(f"/api/v1/runs/{run.pk}/patches", {"diff": diff, **extra}, format="json")


def test_protected_patch_opens_an_approval_bound_to_the_diff(agent, governed):
    response = submit(agent, governed, DOCS_DIFF, phase="build", title="Docs")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == "require_approval"
    assert body["files"][0]["path"] == "docs/a.md"
    assert body["decision"]["reasons"][0]["code"] == "path_protected"
    assert body["lines_added"] == 1
    approval = ApprovalRequest.objects.get(pk=body["approval"]["id"])
    assert approval.payload["diff_sha256"] == body["diff_sha256"]
    assert approval.status == ApprovalStatus.PENDING
    log = DecisionLog.objects.get()
    assert (log.kind, log.outcome, log.requester) == ("patch", "require_approval", log.requester)
    assert log.requester.startswith("agent:")
    listed = agent.get(f"/api/v1/runs/{governed.pk}/patches").json()["results"]
    assert [p["id"] for p in listed] == [body["id"]]


def test_patch_inside_auto_approvable_paths_is_allowed(agent, governed):
    body = submit(agent, governed, SRC_DIFF).json()
    assert body["outcome"] == "allow"
    assert body["approval"] is None


def test_a_newer_patch_for_the_same_phase_supersedes_the_pending_one(agent, governed):
    first = submit(agent, governed, DOCS_DIFF, phase="build").json()
    second = submit(agent, governed, DOCS_DIFF.replace("+more", "+other"), phase="build").json()
    old = ApprovalRequest.objects.get(pk=first["approval"]["id"])
    assert old.status == ApprovalStatus.SUPERSEDED
    assert old.superseded_by_id == second["approval"]["id"]


@pytest.mark.parametrize(
    ("diff", "fragment"),
    [
        ("not a diff", "no file changes"),
        (DOCS_DIFF.replace("docs/a.md", "../../etc/passwd"), "escapes"),
    ],
)
def test_bad_diffs_are_422_with_the_parse_error_and_change_nothing(agent, governed, diff, fragment):
    response = submit(agent, governed, diff)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_diff"
    assert fragment in error["message"]
    assert not Patch.objects.exists() and not ApprovalRequest.objects.exists()


def test_unknown_fields_are_422_with_paths(agent, governed):
    response = submit(agent, governed, DOCS_DIFF, approve=True)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["path"] == "approve"


def test_evaluate_answers_and_creates_nothing(agent, governed):
    response = agent.post(
        "/api/v1/policy/evaluate",
        {"action": {"provider": "youtube", "action": "videos.insert"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "require_approval"
    assert body["policy_version"] >= 1
    assert set(body) >= {"reasons", "matched_rules", "risk", "hint"}
    patch = agent.post("/api/v1/policy/evaluate", {"patch": {"diff": DOCS_DIFF}}, format="json")
    assert patch.json()["outcome"] == "require_approval"
    both = agent.post(
        "/api/v1/policy/evaluate",
        {"patch": {"diff": DOCS_DIFF}, "action": {"provider": "a", "action": "b"}},
        format="json",
    )
    assert both.status_code == 422
    assert not DecisionLog.objects.exists() and not ApprovalRequest.objects.exists()


def test_agents_read_their_projects_approvals(agent, governed, other_project):
    approval_id = submit(agent, governed, DOCS_DIFF).json()["approval"]["id"]
    body = agent.get(f"/api/v1/approvals/{approval_id}").json()
    assert body["status"] == "pending"
    assert body["decisions"] == []
    listed = agent.get("/api/v1/approvals?status=pending").json()
    assert [a["id"] for a in listed["results"]] == [approval_id]
    stranger = agent_client(make_key(other_project))
    assert stranger.get(f"/api/v1/approvals/{approval_id}").status_code == 404
    assert agent.get(f"/api/v1/approvals/{approval_id}?wait=31").status_code == 422


def test_no_api_accepts_a_decision_from_an_agent(agent, governed):
    approval_id = submit(agent, governed, DOCS_DIFF).json()["approval"]["id"]
    for path in (f"/api/v1/approvals/{approval_id}", f"/api/v1/approvals/{approval_id}/approve"):
        response = agent.post(path, {"verdict": "approve"}, format="json")
        assert response.status_code in (403, 404, 405)
    assert ApprovalRequest.objects.get(pk=approval_id).status == ApprovalStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_long_poll_returns_when_an_operator_decides():
    project = make_project("poll")
    policy_apply_template(project=project, template="autopack", editor=None)
    run = make_run(project)
    agent = agent_client(make_key(project))
    approval_id = submit(agent, run, DOCS_DIFF).json()["approval"]["id"]
    operator = make_member(project, Role.OPERATOR)
    approval = ApprovalRequest.objects.get(pk=approval_id)

    def decide_soon():
        time.sleep(0.6)
        approval_decide(
            request_id=approval_id,
            user=operator,
            approve=True,
            payload_hash_seen=approval.payload_hash,
        )
        connection.close()

    thread = threading.Thread(target=decide_soon)
    started = time.monotonic()
    thread.start()
    body = agent.get(f"/api/v1/approvals/{approval_id}?wait=10").json()
    waited = time.monotonic() - started
    thread.join()
    assert body["status"] == "approved"
    assert body["decisions"][0]["verdict"] == "approve"
    assert 0.5 < waited < 5


def test_long_poll_gives_up_after_wait_seconds(agent, governed):
    approval_id = submit(agent, governed, DOCS_DIFF).json()["approval"]["id"]
    started = time.monotonic()
    body = agent.get(f"/api/v1/approvals/{approval_id}?wait=1").json()
    assert body["status"] == "pending"
    assert 0.9 < time.monotonic() - started < 3
