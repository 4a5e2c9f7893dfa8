"""`make report --quick` end to end, on PostgreSQL, into a temporary file: every section is
written, the chaos loop shows no duplicate and no lost action, the targets are judged."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def report_database_url() -> str:
    """A database of its own next to the suite's (the script drops and creates it)."""
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or "5432"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    name = os.environ.get("DATABASE_URL", "autopack").rsplit("/", 1)[-1] or "autopack"
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{name}_report"


@pytest.mark.skipif(not shutil.which("wrk"), reason="needs wrk (apt-get install wrk)")
def test_quick_report_runs_end_to_end(tmp_path):
    output = tmp_path / "performance.md"
    finished = subprocess.run(
        [sys.executable, "tests/perf/report.py", "--quick", "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "REPORT_DATABASE_URL": report_database_url()},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "round 1/1: allow" in finished.stdout  # progress is printed as it runs
    report = output.read_text()
    for heading in (
        "## The machine",
        "## Targets",
        "## Requests",
        "## Claim phase",
        "## Approval long-poll wake-up",
        "## Worker throughput",
        "## Admin pages",
        "## Chaos",
        "## Pre-trade check",
        "## Profile: allowed pre-trade check",
        "## Profile: replayed pre-trade check",
        "## Governance invariants",
        "## Profile: a worker executing an approved webhook action",
    ):
        assert heading in report
    for scenario in (
        "same-work view",
        "propose, allowed",
        "propose, replayed key",
        "dry run",
        "trading same-work view",
        "check, allowed",
        "check, replayed client_order_id",
        "pre-trade check ≥ 0.8 x trading same-work floor",
    ):
        assert scenario in report
    assert "| duplicates at the provider (must be 0) | **0** |" in report
    assert "| lost actions (must be 0) | **0** |" in report
    assert "| not settled when the run gave up (still in progress) | **0** |" in report
    verdicts = re.findall(r"\*\*(met|missed)\*\*", report)
    assert "| result | **held** |" in report
    assert len(verdicts) >= 12
    assert "Quick mode" in report
