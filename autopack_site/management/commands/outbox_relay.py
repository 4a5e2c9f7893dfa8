"""The outbox relay: hands committed tasks to the django-q2 broker (ORM or Redis) until stopped."""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from autopack_site.outbox import outbox_relay


class Command(BaseCommand):
    help = "Relay the transactional outbox to the task broker until SIGTERM or Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args, once: bool, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            close_old_connections()
            sent = outbox_relay()
            if once:
                self.stdout.write(f"relayed {sent}")
                return
            if not sent:  # a full batch means more may be waiting: no pause then
                time.sleep(settings.AUTOPACK_OUTBOX_POLL_SECONDS)
