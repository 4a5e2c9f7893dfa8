"""A project's webhook signing secret: rotate (shown once) or list (fingerprints only)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from autopack_site.models import Project, ProjectSigningSecret
from autopack_site.services import signing_secret_rotate


class Command(BaseCommand):
    help = (
        "Rotate or list a project's signing secret. 'rotate' prints the new secret alone on its "
        "last line; hand it to the project's agents out of band."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        rotate = sub.add_parser("rotate", help="make a new secret (shown once)")
        rotate.add_argument("--project", required=True)
        rotate.add_argument(
            "--now",
            action="store_true",
            help="sign with it at once (a leaked secret) instead of after the grace period",
        )
        listing = sub.add_parser("list", help="the project's secrets, without their values")
        listing.add_argument("--project", required=True)

    def handle(self, *args, verb, project, **options):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project {project!r}.")
        if verb == "rotate":
            row, plaintext = signing_secret_rotate(project=found, immediately=options["now"])
            self.stderr.write(
                f"new signing secret {row.fingerprint} for {found.slug}; it signs from "
                f"{row.signs_from:%Y-%m-%d %H:%M:%S %Z} and is shown once, below:"
            )
            self.stdout.write(plaintext)
            return
        now = timezone.now()
        rows = list(ProjectSigningSecret.objects.filter(project=found).order_by("signs_from"))
        started = [row for row in rows if row.signs_from <= now]
        for row in rows:
            if row.signs_from > now:
                state = "pending"
            else:
                state = "signing" if row is started[-1] else "retired"
            self.stdout.write(f"{row.fingerprint}  {state:8} from {row.signs_from:%Y-%m-%d %H:%M}")
