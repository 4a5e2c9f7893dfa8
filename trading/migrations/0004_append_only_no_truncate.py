"""Append-only tables refuse TRUNCATE too (a statement trigger beside the row trigger)."""

from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("trading", "0003_reconciliation")]

    operations = [
        append_only_trigger("trading_riskevent"),
        append_only_trigger("trading_orderevent"),
    ]
