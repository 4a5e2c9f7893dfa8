from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from autopack_site.errors import DomainError
from autopack_site.services import project_create
from policies.engine import TEMPLATES
from policies.services import policy_apply_template


class Command(BaseCommand):
    help = "Create a project (tenant) by slug, optionally with a starting policy template."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--policy",
            choices=sorted(TEMPLATES),
            help="Start from a policy template (without one, every decision needs a human).",
        )

    def handle(self, *args, slug, name, policy, **options):
        try:
            with transaction.atomic():
                project = project_create(slug=slug, name=name)
                if policy:
                    policy_apply_template(project=project, template=policy, editor=None)
        except DomainError as refusal:
            raise CommandError(refusal.message) from None
        suffix = f" with the {policy!r} policy" if policy else ""
        self.stdout.write(f"created project {project.slug} (id {project.pk}){suffix}")
