"""A switch row (released) for the installation and for every existing project; new projects
get theirs when they are created (publishing.switch.switch_for_new_project)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Project = apps.get_model("autopack_site", "Project")
    EmergencySwitch = apps.get_model("publishing", "EmergencySwitch")
    SwitchEvent = apps.get_model("publishing", "SwitchEvent")
    wanted = [("installation", None)] + [(f"project:{p.pk}", p.pk) for p in Project.objects.all()]
    for scope, project_id in wanted:
        switch, created = EmergencySwitch.objects.get_or_create(
            scope=scope, defaults={"project_id": project_id, "status": "released"}
        )
        if created:
            SwitchEvent.objects.create(
                switch=switch,
                from_status="",
                to_status="released",
                actor="system",
                reason="first use",
            )


class Migration(migrations.Migration):
    dependencies = [("publishing", "0002_append_only_triggers")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
