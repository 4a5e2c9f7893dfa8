"""Append-only tables refuse TRUNCATE too (a statement trigger beside the row trigger)."""

from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("publishing", "0004_policy_change_summary")]

    operations = [
        append_only_trigger("publishing_policychangesummary"),
        append_only_trigger("publishing_policysnapshot"),
        append_only_trigger("publishing_policychangeevent"),
        append_only_trigger("publishing_packetevent"),
        append_only_trigger("publishing_switchevent"),
    ]
