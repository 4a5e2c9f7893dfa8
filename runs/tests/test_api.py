import json
from datetime import timedelta

import pytest
from django.utils import timezone

from autopack_site.tests.test_auth import assert_error
from runs.models import Attempt, Run

pytestmark = pytest.mark.django_db

RUN = {
    "family": "nightly",
    "run_id": "2026-11-24",
    "config": {"model": "claude", "budget": 3},
    "phases": [
        {"key": "plan", "name": "Plan"},
        {"key": "build", "depends_on": ["plan"], "max_attempts": 2},
        {"key": "docs", "depends_on": ["plan"]},
    ],
}


def create(agent, body=RUN):
    return agent.post("/api/v1/runs", body, format="json")


def claim(agent, run_id, **kwargs):
    return agent.post(
        f"/api/v1/runs/{run_id}/claim",
        kwargs.get("body", {}),
        format="json",
        **kwargs.get("headers", {}),
    )


def test_create_then_replay_then_drift(agent, project):
    first = create(agent)
    assert first.status_code == 201
    run = first.json()
    assert run["layout_path"] == f".autonomous_runs/{project.slug}/runs/nightly/2026-11-24/"
    assert [p["key"] for p in run["phases"]] == ["plan", "build", "docs"]
    assert run["phases"][1]["depends_on"] == ["plan"]
    assert run["status"] == "pending"

    replay = create(agent)
    assert replay.status_code == 200
    assert replay.json()["id"] == run["id"]

    drifted = create(agent, {**RUN, "config": {"model": "other"}})
    error = assert_error(drifted, 409, "config_drift")
    assert error["details"]["existing_config_hash"] == run["config_hash"]


@pytest.mark.parametrize(
    ("phases", "fragment"),
    [
        ([{"key": "a", "depends_on": ["b"]}, {"key": "b", "depends_on": ["a"]}], "cycle"),
        ([{"key": "a", "depends_on": ["ghost"]}], "unknown"),
        ([{"key": "a"}, {"key": "a"}], "unique"),
    ],
)
def test_bad_phase_graphs_are_422_and_create_nothing(agent, phases, fragment):
    response = create(agent, {**RUN, "phases": phases})
    error = assert_error(response, 422, "invalid_phase_graph")
    assert fragment in error["message"]
    assert agent.get("/api/v1/runs").json()["results"] == []


def test_strict_types_no_coercion(agent):
    response = create(agent, {**RUN, "phases": [{"key": "a", "max_attempts": "3"}]})
    assert_error(response, 422, "validation_error")


def test_claims_follow_dependencies_then_204(agent):
    run_id = create(agent).json()["id"]
    first = claim(agent, run_id)
    assert first.status_code == 200
    assert first.json()["attempt"]["phase"] == "plan"
    assert claim(agent, run_id).status_code == 204  # build and docs wait for plan

    done = agent.post(
        f"/api/v1/attempts/{first.json()['attempt']['id']}/complete",
        {"outcome": "succeeded"},
        format="json",
    )
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    assert claim(agent, run_id).json()["attempt"]["phase"] == "build"
    assert claim(agent, run_id).json()["attempt"]["phase"] == "docs"
    assert claim(agent, run_id).status_code == 204
    assert agent.get(f"/api/v1/runs/{run_id}").json()["status"] == "running"


def test_the_run_completes_when_every_phase_is_done(agent):
    run_id = create(agent, {**RUN, "phases": [{"key": "only"}]}).json()["id"]
    attempt_id = claim(agent, run_id).json()["attempt"]["id"]
    agent.post(f"/api/v1/attempts/{attempt_id}/complete", {"outcome": "succeeded"}, format="json")
    run = agent.get(f"/api/v1/runs/{run_id}").json()
    assert run["status"] == "completed"
    assert run["finished_at"] is not None
    response = claim(agent, run_id)
    assert response.status_code == 204
    assert response["X-Autopack-Run-Status"] == "completed"


def test_claim_with_idempotency_key_replays_the_same_attempt(agent):
    run_id = create(agent).json()["id"]
    headers = {"HTTP_IDEMPOTENCY_KEY": "claim-1"}
    first = claim(agent, run_id, headers=headers).json()
    again = claim(agent, run_id, headers=headers).json()
    assert again["attempt"]["id"] == first["attempt"]["id"]
    assert again["replayed"] is True
    assert Attempt.objects.count() == 1


def test_complete_after_lease_expiry_is_409_and_the_phase_is_claimable_again(agent):
    run_id = create(agent).json()["id"]
    attempt_id = claim(agent, run_id, body={"lease_seconds": 30}).json()["attempt"]["id"]
    Attempt.objects.filter(pk=attempt_id).update(lease_expires_at=timezone.now() - timedelta(1))
    response = agent.post(
        f"/api/v1/attempts/{attempt_id}/complete", {"outcome": "succeeded"}, format="json"
    )
    assert_error(response, 409, "lease_lost")
    assert Attempt.objects.get(pk=attempt_id).status == "abandoned"  # committed despite the 409
    again = claim(agent, run_id).json()
    assert again["attempt"]["phase"] == "plan"
    assert again["attempt"]["number"] == 2


def test_repeated_complete_is_a_replay_but_a_contradiction_is_409(agent):
    run_id = create(agent).json()["id"]
    attempt_id = claim(agent, run_id).json()["attempt"]["id"]
    url = f"/api/v1/attempts/{attempt_id}/complete"
    agent.post(url, {"outcome": "succeeded"}, format="json")
    replay = agent.post(url, {"outcome": "succeeded"}, format="json")
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert_error(agent.post(url, {"outcome": "failed"}, format="json"), 409, "lease_lost")


def test_failures_retry_until_max_attempts_then_fail_the_run(agent):
    body = {
        **RUN,
        "phases": [{"key": "flaky", "max_attempts": 2}, {"key": "after", "depends_on": ["flaky"]}],
    }
    run_id = create(agent, body).json()["id"]
    for number in (1, 2):
        attempt = claim(agent, run_id).json()["attempt"]
        assert attempt["number"] == number
        agent.post(
            f"/api/v1/attempts/{attempt['id']}/complete",
            {"outcome": "failed", "error_type": "TestsFailed", "error_message": "3 failures"},
            format="json",
        )
    run = agent.get(f"/api/v1/runs/{run_id}").json()
    assert run["status"] == "failed"
    assert {p["key"]: p["status"] for p in run["phases"]} == {"flaky": "failed", "after": "blocked"}
    assert run["attempts"][0]["error_type"] == "TestsFailed"


def test_heartbeat_extends_and_checkpoint_is_handed_to_the_next_attempt(agent):
    run_id = create(agent).json()["id"]
    attempt = claim(agent, run_id, body={"lease_seconds": 60}).json()["attempt"]
    beat = agent.post(
        f"/api/v1/attempts/{attempt['id']}/heartbeat", {"lease_seconds": 600}, format="json"
    ).json()
    assert beat["lease_expires_at"] > attempt["lease_expires_at"]
    saved = agent.post(
        f"/api/v1/attempts/{attempt['id']}/checkpoint",
        {"checkpoint": {"step": 4, "files": ["a.py"]}},
        format="json",
    )
    assert saved.status_code == 200
    Attempt.objects.filter(pk=attempt["id"]).update(lease_expires_at=timezone.now())
    resumed = claim(agent, run_id).json()
    assert resumed["attempt"]["number"] == 2
    assert resumed["resume_checkpoint"] == {"step": 4, "files": ["a.py"]}


def test_usage_events_and_totals(agent):
    run_id = create(agent).json()["id"]
    attempt_id = claim(agent, run_id).json()["attempt"]["id"]
    url = f"/api/v1/runs/{run_id}/usage"
    for tokens_in, cost in ((100, "0.010000"), (50, "0.005")):
        response = agent.post(
            url,
            {
                "provider": "anthropic",
                "model": "claude",
                "tokens_in": tokens_in,
                "tokens_out": 10,
                "cost_usd": cost,
                "attempt": attempt_id,
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    agent.post(
        url, {"provider": "openai", "model": "gpt", "tokens_in": 1, "tokens_out": 1}, format="json"
    )
    totals = agent.get(url).json()
    assert totals["tokens_in"] == 151
    assert totals["cost_usd"] == "0.015000"
    assert [row["provider"] for row in totals["by_model"]] == ["anthropic", "openai"]
    assert agent.get(f"/api/v1/runs/{run_id}").json()["usage"]["events"] == 3


def test_usage_refuses_negative_and_float_costs(agent):
    run_id = create(agent).json()["id"]
    url = f"/api/v1/runs/{run_id}/usage"
    base = {"provider": "p", "model": "m", "tokens_in": 1, "tokens_out": 1}
    assert_error(
        agent.post(url, {**base, "cost_usd": "-1"}, format="json"), 422, "validation_error"
    )
    assert_error(agent.post(url, {**base, "tokens_in": -5}, format="json"), 422, "validation_error")


def test_export_is_one_document(agent):
    run_id = create(agent).json()["id"]
    attempt_id = claim(agent, run_id).json()["attempt"]["id"]
    agent.post(
        f"/api/v1/runs/{run_id}/usage",
        {"provider": "p", "model": "m", "tokens_in": 1, "tokens_out": 2},
        format="json",
    )
    agent.post(f"/api/v1/attempts/{attempt_id}/complete", {"outcome": "succeeded"}, format="json")
    response = agent.get(f"/api/v1/runs/{run_id}/export")
    assert response.status_code == 200
    document = response.json()
    assert document["run_id"] == RUN["run_id"]
    assert len(document["attempts"]) == 1
    assert len(document["usage_events"]) == 1
    run_events = [e for e in document["events"] if e["phase"] is None]
    assert [event["to"] for event in run_events] == ["pending", "running"]
    attempt_events = [e["to"] for e in document["events"] if e["attempt"] is not None]
    assert attempt_events == ["leased", "succeeded"]


def test_list_pages_with_before(agent):
    for index in range(3):
        create(agent, {**RUN, "run_id": f"r{index}"})
    first = agent.get("/api/v1/runs?limit=2").json()
    assert [r["run_id"] for r in first["results"]] == ["r2", "r1"]
    second = agent.get(f"/api/v1/runs?limit=2&before={first['next_before']}").json()
    assert [r["run_id"] for r in second["results"]] == ["r0"]
    assert second["next_before"] is None
    assert agent.get("/api/v1/runs?status=completed").json()["results"] == []


def test_secrets_in_a_run_config_or_checkpoint_never_reach_the_database(agent):
    secret = "sk-ant-api03-canary0123456789abcdefghij"
    body = {**RUN, "run_id": "secretive", "config": {"api_key": secret, "note": f"key {secret}"}}
    created = agent.post("/api/v1/runs", body, format="json")
    assert created.status_code == 201
    run = Run.objects.get(pk=created.json()["id"])
    assert secret not in json.dumps(run.config)
    assert agent.post("/api/v1/runs", body, format="json").status_code == 200  # same config
    drifted = {**body, "config": {"api_key": "sk-ant-api03-another0123456789abcdefgh"}}
    assert agent.post("/api/v1/runs", drifted, format="json").status_code == 409
    attempt_id = claim(agent, run.pk).json()["attempt"]["id"]
    agent.post(
        f"/api/v1/attempts/{attempt_id}/checkpoint",
        {"checkpoint": {"token": secret}},
        format="json",
    )
    export = agent.get(f"/api/v1/runs/{run.pk}/export")
    assert export.status_code == 200 and secret not in export.content.decode()
    assert secret not in json.dumps(list(Attempt.objects.values_list("checkpoint", flat=True)))
