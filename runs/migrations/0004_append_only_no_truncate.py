"""Append-only tables refuse TRUNCATE too (a statement trigger beside the row trigger)."""

from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("runs", "0003_transition_events")]

    operations = [
        append_only_trigger("runs_runevent"),
    ]
