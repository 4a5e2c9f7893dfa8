"""manage.py tradingaccount create --project <slug> --mode paper [--max-orders-per-day N] ...

Prints the new account's id on its last line."""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from autopack_site.errors import DomainError
from autopack_site.models import Project
from trading.models import Mode
from trading.services import account_create

DECIMAL_LIMITS = [
    "max_order_value",
    "max_position_value",
    "max_daily_loss",
    "max_exposure",
    "max_drawdown_pct",
    "price_band_pct",
]
INT_LIMITS = ["max_orders_per_day", "max_orders_per_minute"]


class Command(BaseCommand):
    help = "Create a trading account (prints its id on the last line)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create")
        create.add_argument("--project", required=True)
        create.add_argument("--name", default="main")
        create.add_argument("--mode", choices=Mode.values, default=Mode.DISABLED)
        create.add_argument("--time-zone", default="UTC")
        create.add_argument("--allowed-symbols", default="", help="comma-separated")
        for name in DECIMAL_LIMITS:
            create.add_argument(f"--{name.replace('_', '-')}", type=Decimal)
        for name in INT_LIMITS:
            create.add_argument(f"--{name.replace('_', '-')}", type=int)

    def handle(self, *args, **options):
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project {options['project']!r}.")
        limits = {
            name: options[name]
            for name in DECIMAL_LIMITS + INT_LIMITS
            if options.get(name) is not None
        }
        if options["allowed_symbols"]:
            limits["allowed_symbols"] = options["allowed_symbols"].split(",")
        try:
            account = account_create(
                project=project,
                name=options["name"],
                mode=options["mode"],
                actor="cli",
                time_zone=options["time_zone"],
                **limits,
            )
        except DomainError as refusal:
            raise CommandError(refusal.message) from None
        self.stdout.write(f"created trading account {account} ({account.mode})")
        self.stdout.write(str(account.pk))
