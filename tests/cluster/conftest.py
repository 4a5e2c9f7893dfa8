"""A small cluster on one PostgreSQL: two gunicorn instances, two django-q2 clusters and the
outbox relay, as separate processes, with the broker AUTOPACK_TEST_BROKER names (orm, the
default, or redis). The fake provider runs in the test process on loopback."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.db import connection

from ledger.fakeprovider.server import FakeProviderServer
from ledger.tests.conftest import POLICY, SCOPES, SECRETS, secret_environment
from tests.test_worker import database_url_of_test_db

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("AUTOPACK_TEST_BROKER", "orm")
REDIS_URL = os.environ.get("AUTOPACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    env: dict
    web_ports: list[int]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, *command: str, extra_env: dict | None = None) -> None:
        self.processes[name] = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start_worker(self, name: str) -> None:
        self.start(name, sys.executable, "manage.py", "qcluster")

    def start_relay(self, name: str = "relay", **extra_env) -> None:
        self.start(name, sys.executable, "manage.py", "outbox_relay", extra_env=extra_env)

    def start_web(self, index: int) -> None:
        self.start(
            f"web{index}",
            sys.executable,
            "-m",
            "gunicorn",
            "autopack_site.wsgi",
            "-b",
            f"127.0.0.1:{self.web_ports[index]}",
            "-w",
            "2",
            "--threads",
            "4",
            "--timeout",
            "60",
        )

    def kill(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.web_ports[index]}"

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for index in range(len(self.web_ports)):
            while True:
                try:
                    if httpx.get(f"{self.url(index)}/api/v1/health", timeout=2).status_code:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"web {index} never answered")
                time.sleep(0.3)


@pytest.fixture
def fake_provider_for_cluster():
    server = FakeProviderServer(port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def governed_key(transactional_db):
    """A project with the ledger tests' policy and credentials, and an actions key."""
    from autopack_site.services import signing_secret_rotate
    from ledger.models import ProviderCredential
    from policies.services import policy_save_snapshot
    from tests.factories import make_key, make_project

    project = make_project("cluster")
    policy_save_snapshot(project=project, snapshot=POLICY, editor=None, reason="cluster")
    from django.utils import timezone

    for provider, scopes in SCOPES.items():
        ProviderCredential.objects.create(
            project=project,
            provider=provider,
            name=f"{provider}-test",
            environment="sandbox",
            scopes=scopes,
            allowed_actions=["*"],
            secret_name=SECRETS[provider][0] if provider in SECRETS else "",
            rotated_at=timezone.now(),
        )
    signing_secret_rotate(project=project)
    from trading.tests.conftest import make_account

    make_account(project)  # Alpaca orders pass its pre-trade check (tests/cluster alpaca())
    return project, make_key(project, scopes=["read", "actions:write"])


@pytest.fixture
def cluster(fake_provider_for_cluster, governed_key, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the cluster runs on PostgreSQL")
    project, _key = governed_key
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_test_db(),
        "Q_WORKERS": "2",
        "AUTOPACK_OUTBOUND_ALLOW": fake_provider_for_cluster.url,
        "AUTOPACK_ACTION_LEASE_SECONDS": "6",
        "AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS": "3",
        "AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS": "1",
        "AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS": "2",
        "AUTOPACK_OUTBOX_REDELIVER_SECONDS": "20",
        **{
            f"AUTOPACK_PROVIDER_URL_{provider.upper()}": fake_provider_for_cluster.url
            for provider in SCOPES
        },
        **secret_environment(project),
    }
    env.pop("Q_REDIS_URL", None)
    if BROKER == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        env["Q_REDIS_URL"] = REDIS_URL
    running = Cluster(env=env, web_ports=[_free_port(), _free_port()])
    try:
        running.start_web(0)
        running.start_web(1)
        running.start_worker("worker-a")
        running.start_worker("worker-b")
        running.start_relay()
        running.wait_until_serving()
        yield running
    finally:
        running.stop()
