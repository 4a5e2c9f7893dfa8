"""Credentials name secrets only inside their project's namespace, and the token endpoint moves
into the provider adapters.

secret_ref / refresh_token_ref held whole environment variable names; they become names inside
AUTOPACK_SECRET_<PROJECT>__<NAME>. A reference that already lies in the project's namespace
keeps its name; any other reference is cleared and the credential is held with a reason, so
nothing reads a variable outside the namespace and an owner sees what to fix. Webhook
credentials sign with the project's signing secret and keep no secret name."""

import re

from django.db import migrations, models

NAME = re.compile(r"[A-Z0-9]+(?:_[A-Z0-9]+)*")


def _namespaced_name(slug: str, reference: str) -> str | None:
    prefix = "AUTOPACK_SECRET_" + re.sub(r"[^A-Z0-9]", "_", slug.upper()) + "__"
    name = reference[len(prefix) :] if reference.startswith(prefix) else ""
    return name if NAME.fullmatch(name) and len(name) <= 64 else None


def into_the_namespace(apps, schema_editor):
    credentials = apps.get_model("ledger", "ProviderCredential")
    for credential in credentials.objects.select_related("project"):
        outside = []
        for field in ("secret_name", "refresh_token_name"):
            reference = getattr(credential, field)
            if not reference or (field == "secret_name" and credential.provider == "webhook"):
                setattr(credential, field, "")
                continue
            name = _namespaced_name(credential.project.slug, reference)
            if name is None:
                outside.append(reference)
            setattr(credential, field, name or "")
        if outside:
            credential.held_reason = (
                f"{', '.join(outside)} is outside project {credential.project.slug}'s secret "
                "namespace; set the secret name (AUTOPACK_SECRET_<PROJECT>__<NAME>) and clear this."
            )[:300]
        credential.save(update_fields=["secret_name", "refresh_token_name", "held_reason"])


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_held_by"), ("autopack_site", "0001_initial")]

    operations = [
        migrations.RenameField("providercredential", "secret_ref", "secret_name"),
        migrations.RenameField("providercredential", "refresh_token_ref", "refresh_token_name"),
        migrations.RunPython(into_the_namespace, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="providercredential",
            name="secret_name",
            field=models.CharField(
                blank=True,
                help_text="The secret's name in this project's namespace, e.g. SHOPIFY_TOKEN: read "
                "from AUTOPACK_SECRET_<PROJECT>__<NAME> (or AUTOPACK_SECRETS_DIR/<project>/<NAME>) "
                "on the worker. Empty for the webhook, which signs with the project's signing "
                "secret.",
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="providercredential",
            name="refresh_token_name",
            field=models.CharField(
                blank=True,
                help_text="Name of an OAuth refresh token in the same namespace, if the provider "
                "uses one.",
                max_length=64,
            ),
        ),
        migrations.RemoveField(model_name="providercredential", name="token_url"),
    ]
