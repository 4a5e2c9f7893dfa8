"""Reads for artifacts and handoffs, always scoped to one project."""

import hashlib

from django.db.models import QuerySet
from django.utils import timezone

from artifacts.classes import RULES
from artifacts.models import Artifact, ArtifactStatus
from artifacts.storage import artifact_storage
from autopack_site.encryption import InvalidToken, NoEncryptionKey, open_sealed_bytes
from autopack_site.errors import Conflict, DomainError
from autopack_site.models import Project
from runs.models import Run


class ArtifactUnreadable(DomainError):
    status_code = 503
    code = "artifact_unreadable"


def artifacts_for_run(*, project: Project, run: Run) -> QuerySet[Artifact]:
    return Artifact.objects.filter(project=project, run=run).select_related("run")


def artifact_get(*, project: Project, artifact_pk: int) -> Artifact | None:
    return Artifact.objects.filter(project=project, pk=artifact_pk).select_related("run").first()


def artifact_content(artifact: Artifact) -> bytes:
    """The artifact's bytes as stored (redacted), decrypted, checked against their hash."""
    if artifact.status == ArtifactStatus.DELETED:
        raise Conflict(
            f"Artifact #{artifact.pk} was deleted by retention.", code="artifact_deleted"
        )
    if (
        artifact.status == ArtifactStatus.STORED
        and artifact.expires_at is not None
        and artifact.expires_at <= timezone.now()
        and not RULES[artifact.artifact_class].archive
    ):
        # past its retention: not served, whether or not the sweep has removed it yet
        raise Conflict(
            f"Artifact #{artifact.pk} expired at {artifact.expires_at.isoformat()}.",
            code="artifact_expired",
        )
    try:
        with artifact_storage().open(artifact.storage_path, "rb") as handle:
            data = handle.read()
    except OSError as exc:  # the row says stored; the storage lost it
        raise ArtifactUnreadable("The stored artifact's file is missing from storage.") from exc
    if artifact.encrypted:
        try:
            data = open_sealed_bytes(data)
        except (InvalidToken, NoEncryptionKey) as exc:
            raise ArtifactUnreadable(
                "The artifact is encrypted and no configured key opens it "
                "(AUTOPACK_ARTIFACT_KEYS).",
            ) from exc
    if hashlib.sha256(data).hexdigest() != artifact.content_sha256:
        raise ArtifactUnreadable("The stored artifact does not match its hash.")
    return data


def handoff_get(*, project: Project, handoff_pk: int):
    from artifacts.models import Handoff

    return Handoff.objects.filter(project=project, pk=handoff_pk).first()
