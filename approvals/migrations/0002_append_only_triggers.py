from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [
        append_only_trigger("approvals_approvaldecision"),
        append_only_trigger("approvals_approvalevent"),
    ]
