"""Append-only tables refuse TRUNCATE too (a statement trigger beside the row trigger)."""

from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("artifacts", "0002_handoffs")]

    operations = [
        append_only_trigger("artifacts_artifactevent"),
        append_only_trigger("artifacts_handoffevent"),
    ]
