"""A real django-q2 worker process picks up our tasks from the ORM broker."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from autopack_site.models import WorkerHeartbeat
from autopack_site.schedules import SCHEDULES
from runs.models import Attempt, AttemptStatus
from runs.services import PhaseSpec, phase_claim_next
from tests.factories import make_project, make_run

ROOT = Path(__file__).resolve().parents[1]


def database_url_of_test_db() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user, host, port = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1", db.get("PORT")
    return f"postgres://{user}@{host}:{port or 5432}/{db['NAME']}"


def wait_for(predicate, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


@pytest.fixture
def worker_process():
    env = {**os.environ, "DATABASE_URL": database_url_of_test_db(), "Q_WORKERS": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.django_db(transaction=True)
def test_schedules_exist_once_by_name_after_migrate():
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {name for name, _, _ in SCHEDULES} <= names
    from autopack_site.schedules import ensure_schedules

    ensure_schedules()
    assert Schedule.objects.filter(name="worker-heartbeat").count() == 1


@pytest.mark.django_db(transaction=True)
def test_real_worker_beats_and_sweeps_expired_leases(worker_process, client):
    run = make_run(make_project("worker"), phases=[PhaseSpec(key="only")])
    attempt = phase_claim_next(run=run, claimed_by_key=None, lease_seconds=60).attempt
    Attempt.objects.filter(pk=attempt.pk).update(lease_expires_at=timezone.now() - timedelta(1))
    async_task("autopack_site.tasks.worker_heartbeat")
    async_task("runs.tasks.sweep_expired_leases")

    beat = wait_for(lambda: WorkerHeartbeat.objects.exists())
    swept = wait_for(lambda: Attempt.objects.get(pk=attempt.pk).status == AttemptStatus.ABANDONED)
    if not (beat and swept):
        os.killpg(worker_process.pid, signal.SIGTERM)
        output = worker_process.communicate(timeout=20)[0].decode(errors="replace")
        pytest.fail(f"worker did not run the tasks (beat={beat}, swept={swept}):\n{output[-3000:]}")
    assert client.get("/api/v1/health").json()["worker"]["status"] == "ok"
