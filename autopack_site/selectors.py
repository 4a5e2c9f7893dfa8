"""Reads for tenancy."""

import logging

from django.utils import timezone

from autopack_site.encryption import InvalidToken, open_sealed
from autopack_site.models import AgentKey, ProjectSigningSecret

logger = logging.getLogger(__name__)


def agent_key_by_prefix(*, prefix: str) -> AgentKey | None:
    """The key with its project, in one query (every agent request makes it)."""
    return AgentKey.objects.select_related("project").filter(prefix=prefix).first()


def signing_secret_current(*, project_id: int) -> str | None:
    """The secret that signs the project's callbacks and webhooks now, or None when the project
    has none (or it cannot be decrypted with the configured keys, which is logged)."""
    row = (
        ProjectSigningSecret.objects.filter(project_id=project_id, signs_from__lte=timezone.now())
        .order_by("-signs_from", "-pk")
        .only("sealed_secret", "fingerprint")
        .first()
    )
    if row is None:
        return None
    try:
        return open_sealed(row.sealed_secret)
    except InvalidToken:
        logger.error(
            "signing secret cannot be decrypted; keep the old key in SECRET_KEY_FALLBACKS or "
            "AUTOPACK_ENCRYPTION_KEYS, or rotate it",
            extra={"project": project_id, "fingerprint": row.fingerprint},
        )
        return None
