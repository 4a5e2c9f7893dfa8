"""The README's Python client example, extracted from README.md and run verbatim as a separate
process against a live server, a real django-q2 worker and the loopback fake provider; an
operator (a thread here) approves what the policy sends to the inbox. It ends with the run
completed and the webhook delivered."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import approval_decide
from autopack_site.demo import demo_seed
from runs.models import Run, RunStatus
from tests import live_fixtures
from tests.test_worker import ROOT

# the live fixtures, shared with the other end-to-end tests
live_fake_provider = live_fixtures.live_fake_provider
live_worker = live_fixtures.live_worker

pytestmark = pytest.mark.django_db(transaction=True)


def readme_python_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python client") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_is_self_contained():
    code = readme_python_example()
    compile(code, "README.md", "exec")
    assert "change.diff" in code and "write_text" in code  # it creates its diff
    assert "heartbeat" in code and "complete(" in code
    imported = re.search(r"from autopack_client import (.*)", code).group(1)
    for name in (n.strip() for n in imported.split(",")):
        assert code.count(name) > 1, f"{name} is imported but unused"


def _operator_approves(stop: threading.Event, seen: list, user, project) -> None:
    """Approves each new pending request of the project, as an operator in the inbox would."""
    from django.db import connection

    try:
        while not stop.is_set():
            for request in ApprovalRequest.objects.filter(
                project=project, status=ApprovalStatus.PENDING
            ).exclude(pk__in=list(seen)):
                seen.append(request.pk)
                approval_decide(
                    request_id=request.pk,
                    user=user,
                    approve=True,
                    payload_hash_seen=request.payload_hash,
                )
            time.sleep(0.3)
    finally:
        connection.close()


def test_the_readme_client_example_runs_verbatim_and_completes_its_run(
    live_server,
    live_worker,
    live_fake_provider,
    tmp_path,
):
    fake_provider = live_fake_provider
    from django.contrib.auth import get_user_model

    credentials = demo_seed()
    project_patch = ApprovalRequest.objects.get(status=ApprovalStatus.PENDING)  # the demo's
    operator = get_user_model().objects.get(username=credentials.username)
    seen = [project_patch.pk]  # the demo patch stays for the operator's own walk
    stop = threading.Event()
    approver = threading.Thread(
        target=_operator_approves,
        args=(stop, seen, operator, project_patch.project),
        daemon=True,
    )
    approver.start()
    script = tmp_path / "readme_example.py"
    script.write_text(readme_python_example())
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "AUTOPACK_URL": live_server.url,
                "AUTOPACK_KEY": credentials.agent_key,
                "AUTOPACK_HOOK_URL": f"{fake_provider.url}/webhook/readme",
            },
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        stop.set()
        approver.join(timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "change.diff").exists()
    assert "run: completed" in result.stdout, result.stdout
    run = Run.objects.get(family="readme")
    assert run.status == RunStatus.COMPLETED
    assert Path(tmp_path / "change.diff").read_text().startswith("diff --git")
