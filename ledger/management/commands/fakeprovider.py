from django.core.management.base import BaseCommand, CommandError

from ledger.fakeprovider.server import LOOPBACK, FakeProviderServer


class Command(BaseCommand):
    help = "Run the fake provider server (loopback only) for demos and manual testing."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        if host not in LOOPBACK:
            raise CommandError("The fake provider listens on loopback only.")
        server = FakeProviderServer(port=port, host=host)
        self.stdout.write(
            f"fake provider at {server.url} (faults: POST /_faults, state: GET /_state)"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.stop()
