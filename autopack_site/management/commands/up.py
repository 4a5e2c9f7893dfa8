"""Start everything for a local try-out: migrate, demo data, a django-q2 worker and the server."""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from autopack_site.demo import demo_seed


class Command(BaseCommand):
    help = "Migrate, seed demo data, then run the web server and a django-q2 worker until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-demo", action="store_true", help="skip the demo data")

    def handle(self, *args, host, port, no_demo, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        credentials = None if no_demo else demo_seed()
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children = [
            subprocess.Popen([*manage, "qcluster"]),
            subprocess.Popen([*manage, "runserver", f"{host}:{port}", "--noreload"]),
        ]
        base = f"http://{host}:{port}"
        banner = [
            "",
            "Autopack is up.",
            f"  admin:    {base}/admin/",
            f"  API docs: {base}/api/docs/",
            f"  health:   {base}/api/v1/health",
        ]
        if credentials:
            banner += [
                f"  operator: {credentials.username} / {credentials.password}",
                f"  agent key for project '{credentials.project}' (all scopes):",
                f"    {credentials.agent_key}",
                f"  try: curl -H 'Authorization: Bearer {credentials.agent_key}' {base}/api/v1/me",
            ]
        banner.append("Ctrl-C stops the server and the worker.")
        self.stdout.write("\n".join(banner))

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
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
