import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Call budgets become per project and provider; the old per-provider windows are a cache
    that lapses within a minute, so they are dropped rather than carried over."""

    dependencies = [
        ("autopack_site", "0001_initial"),
        ("ledger", "0003_answers_and_fewer_indexes"),
    ]

    operations = [
        migrations.DeleteModel(name="RateLimitWindow"),
        migrations.CreateModel(
            name="RateLimitWindow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("provider", models.CharField(max_length=50)),
                ("window_started_at", models.DateTimeField()),
                ("used", models.PositiveIntegerField(default=0)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="autopack_site.project",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("project", "provider"),
                        name="ratelimit_one_window_per_project_provider",
                    )
                ],
            },
        ),
    ]
