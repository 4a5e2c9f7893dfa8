from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from autopack_site.security.two_factor import totp_devices_reset


class Command(BaseCommand):
    help = (
        "Remove a user's TOTP devices (a lost phone): at their next login, after the password,"
        " they enrol a new authenticator app."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        removed = totp_devices_reset(user=user)
        self.stdout.write(
            f"Removed {removed} TOTP device(s) of {username!r}; they enrol a new one at next login."
        )
