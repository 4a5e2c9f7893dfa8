"""Append-only tables refuse TRUNCATE too (a statement trigger beside the row trigger)."""

from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("approvals", "0005_artifacts_advisory_reviewer")]

    operations = [
        append_only_trigger("approvals_approvalreview"),
        append_only_trigger("approvals_approvaldecision"),
        append_only_trigger("approvals_approvalevent"),
        append_only_trigger("approvals_notificationevent"),
    ]
