"""System checks for settings a deploy must get right."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def check_q_cluster(app_configs, **kwargs):
    errors = []
    cluster = settings.Q_CLUSTER
    if cluster.get("timeout") and cluster.get("retry") and cluster["timeout"] >= cluster["retry"]:
        errors.append(
            Error(
                "Q_CLUSTER timeout must be below retry, or a slow task is handed out twice.",
                id="autopack.E001",
            )
        )
    if not cluster.get("max_attempts"):
        errors.append(Error("Q_CLUSTER max_attempts must be set.", id="autopack.E002"))
    return errors


@register(Tags.security, deploy=True)
def check_production_database(app_configs, **kwargs):
    if settings.PRODUCTION and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return [
            Error(
                "Production runs on PostgreSQL: set DATABASE_URL=postgres://...",
                id="autopack.E003",
            )
        ]
    return []


@register(Tags.security)
def check_outbound_allow(app_configs, **kwargs):
    from django.core.exceptions import ImproperlyConfigured

    from autopack_site.outbound import allowed_origin

    errors = []
    for entry in settings.AUTOPACK_OUTBOUND_ALLOW:
        try:
            allowed_origin(entry)
        except (ImproperlyConfigured, ValueError) as problem:
            errors.append(Error(f"AUTOPACK_OUTBOUND_ALLOW: {problem}", id="autopack.E004"))
    return errors


@register(Tags.security)
def check_artifact_keys(app_configs, **kwargs):
    """Each AUTOPACK_ARTIFACT_KEYS entry must be a Fernet key: a malformed one would make every
    encrypted upload and download a 500 instead of failing at start."""
    from cryptography.fernet import Fernet

    errors = []
    for position, key in enumerate(settings.AUTOPACK_ARTIFACT_KEYS, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(
                Error(
                    f"AUTOPACK_ARTIFACT_KEYS: entry {position} is not a Fernet key (32 url-safe "
                    "base64-encoded bytes; Fernet.generate_key()).",
                    id="autopack.E005",
                )
            )
    return errors
