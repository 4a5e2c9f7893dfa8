import django.db.models.deletion
from django.db import migrations, models

from autopack_site.db.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("autopack_site", "0001_initial"),
        ("policies", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="governancepolicy",
            name="enabled",
            field=models.BooleanField(
                default=True,
                editable=False,
                help_text="Changed only by the disable and enable actions, each keeping a revision.",
            ),
        ),
        migrations.AlterField(
            model_name="decisionlog",
            name="project",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="decision_logs",
                to="autopack_site.project",
            ),
        ),
        migrations.AlterField(
            model_name="governancepolicy",
            name="project",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="policy",
                to="autopack_site.project",
            ),
        ),
        migrations.AlterField(
            model_name="policyrevision",
            name="policy",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="revisions",
                to="policies.governancepolicy",
            ),
        ),
        append_only_trigger("policies_policyrevision"),
        append_only_trigger("policies_decisionlog"),
    ]
