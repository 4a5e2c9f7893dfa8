"""Append-only tables refuse TRUNCATE too (a statement trigger beside the row trigger)."""

from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("policies", "0004_paths_case_insensitive_by_default")]

    operations = [
        append_only_trigger("policies_policyrevision"),
        append_only_trigger("policies_decisionlog"),
    ]
