from django.urls import reverse

from artifacts.models import Artifact
from artifacts.schemas import ArtifactOut


def artifact_out(artifact: Artifact) -> ArtifactOut:
    return ArtifactOut(
        id=artifact.pk,
        run_id=artifact.run_id,
        name=artifact.name,
        artifact_class=artifact.artifact_class,
        status=artifact.status,
        content_type=artifact.content_type,
        size=artifact.size,
        stored_size=artifact.stored_size,
        sha256=artifact.sha256,
        redacted=artifact.redacted,
        redaction_count=artifact.redaction_count,
        encrypted=artifact.encrypted,
        expires_at=artifact.expires_at,
        created_at=artifact.created_at,
        download_url=reverse("api:artifact-download", args=[artifact.pk]),
    )
