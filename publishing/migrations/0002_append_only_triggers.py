from django.db import migrations

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("publishing", "0001_initial")]

    operations = [
        append_only_trigger("publishing_policysnapshot"),
        append_only_trigger("publishing_policychangeevent"),
        append_only_trigger("publishing_packetevent"),
        append_only_trigger("publishing_switchevent"),
    ]
