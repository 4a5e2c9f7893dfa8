"""Live parts shared by end-to-end tests: the loopback fake provider (in settings and for a
worker) and a real django-q2 worker process on the test database."""

import os
import signal
import subprocess
import sys

import pytest

from ledger.fakeprovider.server import FakeProviderServer
from tests.test_worker import ROOT, database_url_of_test_db


@pytest.fixture
def live_fake_provider(settings):
    server = FakeProviderServer(port=0)
    server.start()
    settings.AUTOPACK_OUTBOUND_ALLOW = [server.url]
    settings.AUTOPACK_PROVIDER_URLS = {"webhook": server.url}
    yield server
    server.stop()


@pytest.fixture
def live_worker(live_fake_provider):
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_test_db(),
        "Q_WORKERS": "1",
        "AUTOPACK_OUTBOUND_ALLOW": live_fake_provider.url,
        "AUTOPACK_PROVIDER_URL_WEBHOOK": live_fake_provider.url,
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
