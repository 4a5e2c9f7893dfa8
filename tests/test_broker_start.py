"""Q_REDIS_URL refuses to start a process that could not use it, saying which problem it is."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage_check(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "AUTOPACK_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends


def test_a_redis_url_that_nothing_answers_stops_the_start(tmp_path):
    done = manage_check(tmp_path, Q_REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    assert done.returncode != 0
    assert "does not answer" in done.stderr
    assert "unset Q_REDIS_URL" in done.stderr


def test_a_redis_url_without_the_package_stops_the_start(tmp_path):
    shadow = tmp_path / "shadow" / "redis"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no redis here')\n")
    done = manage_check(
        tmp_path,
        Q_REDIS_URL="redis://127.0.0.1:6379/0",
        PYTHONPATH=os.pathsep.join([str(shadow.parent), str(ROOT)]),
    )
    assert done.returncode != 0
    assert "redis package is not installed" in done.stderr
    assert "autopack[redis]" in done.stderr
