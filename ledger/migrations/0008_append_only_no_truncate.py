"""Append-only tables refuse TRUNCATE too (a statement trigger beside the row trigger)."""

from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_credential_lists_validated")]

    operations = [
        append_only_trigger("ledger_actionevent"),
        append_only_trigger("ledger_actionanswer"),
    ]
