from django.core.management.base import BaseCommand, CommandError

from autopack_site.errors import DomainError
from autopack_site.services import project_create


class Command(BaseCommand):
    help = "Create a project (tenant) by slug."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug, name, **options):
        try:
            project = project_create(slug=slug, name=name)
        except DomainError as refusal:
            raise CommandError(refusal.message) from None
        self.stdout.write(f"created project {project.slug} (id {project.pk})")
