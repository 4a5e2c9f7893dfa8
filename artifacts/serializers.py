from django.urls import reverse

from artifacts.contracts import contract_schema
from artifacts.models import Artifact, Handoff
from artifacts.schemas import ArtifactOut, HandoffOut


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


def handoff_out(handoff: Handoff) -> HandoffOut:
    return HandoffOut(
        id=handoff.pk,
        run_id=handoff.run_id,
        kind=handoff.kind,
        status=handoff.status,
        strict=handoff.strict,
        brief=handoff.brief,
        context_sha256=handoff.context_sha256,
        contract=contract_schema(handoff.kind),
        output=handoff.output,
        output_sha256=handoff.output_sha256,
        confidence=handoff.confidence,
        warnings=handoff.warnings,
        created_at=handoff.created_at,
        finished_at=handoff.finished_at,
    )
