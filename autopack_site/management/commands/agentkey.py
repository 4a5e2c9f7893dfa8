from django.core.management.base import BaseCommand, CommandError

from autopack_site.errors import DomainError
from autopack_site.models import AgentKey, Project, Scope
from autopack_site.services import agent_key_create, agent_key_revoke


class Command(BaseCommand):
    help = "Create, list or revoke agent keys. 'create' prints the key alone on its last line."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="mint a key (shown once)")
        create.add_argument("--project", required=True)
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scopes",
            nargs="+",
            default=[Scope.READ, Scope.RUNS_WRITE],
            help=f"any of: {', '.join(Scope.values)} (default: read runs:write)",
        )
        listing = sub.add_parser("list", help="keys of a project, without secrets")
        listing.add_argument("--project", required=True)
        revoke = sub.add_parser("revoke", help="revoke a key by its prefix")
        revoke.add_argument("prefix")
        revoke.add_argument("--reason", default="revoked from the command line")

    def handle(self, *args, verb, **options):
        try:
            getattr(self, f"handle_{verb}")(**options)
        except DomainError as refusal:
            raise CommandError(refusal.message) from None

    def _project(self, slug: str) -> Project:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(
                f"No project {slug!r}; create it with: manage.py createproject {slug}"
            )
        return project

    def handle_create(self, *, project, name, scopes, **_):
        key, plaintext = agent_key_create(project=self._project(project), name=name, scopes=scopes)
        self.stderr.write(
            f"created key {key.name!r} ({key.prefix}) for {project} with scopes "
            f"{' '.join(key.scopes)}; it is shown once, below:"
        )
        self.stdout.write(plaintext)

    def handle_list(self, *, project, **_):
        for key in AgentKey.objects.filter(project=self._project(project)).order_by("created_at"):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            self.stdout.write(f"{key.prefix}  {key.name:30}  {state:18}  used {used}  {key.scopes}")

    def handle_revoke(self, *, prefix, reason, **_):
        key = AgentKey.objects.filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"No key with prefix {prefix!r}.")
        agent_key_revoke(key=key, reason=reason)
        self.stdout.write(f"revoked {key.name} ({key.prefix})")
