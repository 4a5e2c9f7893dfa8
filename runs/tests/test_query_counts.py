import pytest

from runs.models import Phase, Run

pytestmark = pytest.mark.django_db


def big_run(agent, phases: int) -> int:
    body = {
        "family": "wide",
        "run_id": f"phases-{phases}",
        "phases": [
            {"key": f"p{i}", "depends_on": [f"p{i - 1}"] if i else []} for i in range(phases)
        ],
    }
    return agent.post("/api/v1/runs", body, format="json").json()["id"]


@pytest.mark.parametrize("phases", [3, 60])
def test_claim_and_complete_use_a_bounded_number_of_queries(
    agent, django_assert_max_num_queries, phases
):
    run_id = big_run(agent, phases)
    agent.get("/api/v1/me")  # last_used_at written now, not inside the measured calls
    # bounded whatever the number of phases; each status change also writes its event row, and
    # every request takes one unit of its key's request budget
    with django_assert_max_num_queries(18):
        response = agent.post(f"/api/v1/runs/{run_id}/claim", {}, format="json")
    assert response.status_code == 200
    attempt_id = response.json()["attempt"]["id"]
    with django_assert_max_num_queries(18):
        done = agent.post(
            f"/api/v1/attempts/{attempt_id}/complete", {"outcome": "succeeded"}, format="json"
        )
    assert done.status_code == 200


def test_run_detail_queries_do_not_grow_with_phases(agent, django_assert_max_num_queries):
    small, large = big_run(agent, 2), big_run(agent, 80)
    assert Phase.objects.filter(run_id=large).count() == 80
    agent.get("/api/v1/me")
    for run_id in (small, large):
        with django_assert_max_num_queries(10):
            assert agent.get(f"/api/v1/runs/{run_id}").status_code == 200
    assert Run.objects.count() == 2
