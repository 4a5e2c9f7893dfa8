"""Start everything for a local try-out: migrate, demo data, the fake provider on loopback, a
django-q2 worker, the outbox relay, the server, and the example agent once (its action waits in
the inbox)."""

import os
import signal

# starts this project's own processes (local try-out):
import subprocess  # nosec B404
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_q.tasks import async_task

from autopack_site.demo import DEMO_SECRETS, FAKE_PROVIDER_PORT, demo_seed

PROVIDERS = ("webhook", "youtube", "etsy", "shopify", "alpaca")


def _start(argv: list[str], **options) -> subprocess.Popen:
    # this project's own commands as an argument list, never through a shell:
    return subprocess.Popen(argv, **options)  # nosec B603


class Command(BaseCommand):
    help = "Migrate, seed demo data, then run the web server and a django-q2 worker until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-demo", action="store_true", help="skip the demo data")
        parser.add_argument(
            "--no-agent", action="store_true", help="do not start the example agent"
        )

    def handle(self, *args, host, port, no_demo, no_agent, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        credentials = None if no_demo else demo_seed()
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        fake = f"http://127.0.0.1:{FAKE_PROVIDER_PORT}"
        env = {
            **os.environ,
            **DEMO_SECRETS,
            # the fake provider (and the example agent's webhook sink on it) is on loopback
            "AUTOPACK_OUTBOUND_ALLOW": f"127.0.0.1:{FAKE_PROVIDER_PORT}",
            **{f"AUTOPACK_PROVIDER_URL_{name.upper()}": fake for name in PROVIDERS},
        }
        # the first heartbeat right away, so health shows the worker within seconds
        async_task("autopack_site.tasks.worker_heartbeat")
        children = [
            _start([*manage, "fakeprovider", "--port", str(FAKE_PROVIDER_PORT)], env=env),
            _start([*manage, "qcluster"], env=env),
            # hands committed work (executions, notifications) to the worker within a second;
            # the worker's own outbox-relay schedule is only the safety net
            _start([*manage, "outbox_relay"], env=env),
            _start([*manage, "runserver", f"{host}:{port}", "--noreload"], env=env),
        ]
        base = f"http://{host}:{port}"
        if credentials and not no_agent:
            time.sleep(2)  # let the server bind before the agent's first request
            agent = settings.BASE_DIR / "docs" / "example_agent.py"
            children.append(
                _start(
                    [
                        sys.executable,
                        str(agent),
                        "--base-url",
                        base,
                        "--key",
                        credentials.agent_key,
                        "--hook-url",
                        f"{fake}/webhook/example-agent",
                    ],
                    env={**env, "PYTHONPATH": str(settings.BASE_DIR)},
                    cwd=settings.BASE_DIR,
                )
            )
        banner = [
            "",
            "Autopack is up.",
            f"  admin:    {base}/admin/",
            f"  API docs: {base}/api/docs/",
            f"  health:   {base}/api/v1/health",
            f"  fake provider (loopback): {fake}/_state",
        ]
        if credentials:
            banner.append(f"  operator: {credentials.username} / {credentials.password}")
            if settings.AUTOPACK_REQUIRE_2FA:
                banner.append(
                    "    AUTOPACK_REQUIRE_2FA is on: after the password the operator enrols an"
                    " authenticator app (docs/security.md)"
                )
            banner += [
                f"  agent key for project '{credentials.project}' (all scopes):",
                f"    {credentials.agent_key}",
                f"  try: curl -H 'Authorization: Bearer {credentials.agent_key}' {base}/api/v1/me",
                "  signing secret of the project (verifies its callbacks; shown once):",
                f"    {credentials.signing_secret}",
            ]
        banner.append("Ctrl-C stops the server, the worker and the relay.")
        self.stdout.write("\n".join(banner))

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            services = children[:4]  # the example agent may finish on its own
            while not stopping and all(child.poll() is None for child in services):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
