"""The one spelling of where a run's files live on an agent's disk:
`.autonomous_runs/<project>/runs/<family>/<run_id>/`. Everything that shows or writes a run path
calls run_path (tests/test_repository_truths.py fails on any other spelling)."""

RUNS_ROOT = ".autonomous_runs"


def run_path(project_slug: str, family: str, run_id: str) -> str:
    return f"{RUNS_ROOT}/{project_slug}/runs/{family}/{run_id}/"
