"""Uploading an artifact: refuse what must never be stored, verify the hash, redact, encrypt,
store the bytes, then record the row (state machine, in one transaction)."""

import codecs
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from artifacts.classes import RULES, ClassRule
from artifacts.models import Artifact, ArtifactClass, ArtifactStatus, RetentionOverride
from artifacts.storage import artifact_storage, checked_name, storage_path_for
from artifacts.transitions import ARTIFACT
from autopack_site.encryption import file_encryption_configured, seal_bytes
from autopack_site.errors import Conflict, DomainError, Unprocessable
from autopack_site.models import AgentKey
from autopack_site.redaction import MAX_REDACT_DEPTH, json_depth, redact_counted, scrub_counted
from runs.models import Run

logger = logging.getLogger(__name__)


class ArtifactTooLarge(DomainError):
    status_code = 413
    code = "artifact_too_large"


@dataclass(frozen=True)
class Prepared:
    content: bytes  # as stored, before encryption
    redacted: bool
    redaction_count: int
    kind: str  # "har", "json", "text" or "binary"


def _text_of(data: bytes) -> str | None:
    """The bytes as text: UTF-8, or UTF-16 with its byte-order mark (Windows tools write logs
    that way); None for anything else."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _kind(name: str, content_type: str, artifact_class: str, data: bytes) -> str:
    lowered, ctype = name.lower(), content_type.lower()
    if artifact_class == ArtifactClass.HAR_LOG or lowered.endswith(".har"):
        return "har"
    if lowered.endswith(".json") or "json" in ctype:
        return "json"
    # the bytes decide, never the declared content type: text that calls itself an image is
    # still text, and still redacted
    return "binary" if _text_of(data) is None else "text"


def prepare(data: bytes, *, name: str, content_type: str, artifact_class: str) -> Prepared:
    """Redacts text, JSON and HAR (every class: a secret never belongs in storage); binary
    content passes as is, unless the class must be redacted, which refuses it."""
    rule = RULES[artifact_class]
    kind = _kind(name, content_type, artifact_class, data)
    if kind == "binary":
        if rule.redact:
            raise Unprocessable(
                f"{artifact_class} artifacts are redacted on ingest, so they must be text, JSON "
                "or HAR (UTF-8).",
                code="artifact_not_redactable",
            )
        return Prepared(data, False, 0, kind)
    text = _text_of(data)
    if text is None:
        raise Unprocessable(f"A {kind} artifact must be UTF-8.", code="artifact_encoding")
    if kind in ("har", "json"):
        try:
            document = json.loads(text)
            too_deep = json_depth(document) > MAX_REDACT_DEPTH
        except RecursionError:
            too_deep = True
        except ValueError as exc:
            if kind == "har":
                raise Unprocessable(
                    "A HAR artifact must be JSON.", code="artifact_malformed"
                ) from exc
            kind = "text"
        else:
            if not too_deep:
                redacted, count = redact_counted(document)
                body = json.dumps(redacted, ensure_ascii=False, indent=1).encode()
                return Prepared(body, count > 0, count, kind)
        if kind != "text":
            # the walk that redacts is recursive; a document this deep is refused, not stored
            raise Unprocessable(
                f"The {kind} artifact nests deeper than {MAX_REDACT_DEPTH} levels; it cannot "
                "be redacted.",
                code="artifact_too_deep",
                details={"max_depth": MAX_REDACT_DEPTH},
            )
    scrubbed, count = scrub_counted(text)
    return Prepared(scrubbed.encode(), count > 0, count, kind)


def retention_days(project, artifact_class: str, rule: ClassRule) -> int:
    override = (
        RetentionOverride.objects.filter(project=project, artifact_class=artifact_class)
        .values_list("days", flat=True)
        .first()
    )
    if override:
        return override
    if rule.days is None:  # refused classes never reach here (checked before any write)
        raise ValueError(f"{artifact_class} artifacts are not stored")
    return rule.days


def artifact_upload(
    *,
    run: Run,
    name: str,
    artifact_class: str,
    data: bytes,
    sha256: str,
    content_type: str = "",
    key: AgentKey | None = None,
    actor: str = "system",
) -> tuple[Artifact, bool]:
    """Stores ``data`` as the run's artifact ``name``. Returns (artifact, created): the same
    name with the same bytes again is a replay (created False); different bytes are 409."""
    checked_name(name)
    rule = RULES.get(artifact_class)
    if rule is None:
        raise Unprocessable(f"Unknown artifact class {artifact_class}.", code="artifact_class")
    if rule.refused:
        raise Unprocessable(
            f"{artifact_class} artifacts are never stored: a credential has no place in a "
            "run's files. Keep it in the project's secret namespace.",
            code="artifact_class_refused",
        )
    if rule.encrypt and not file_encryption_configured():
        raise Unprocessable(
            f"{artifact_class} artifacts are stored encrypted and no artifact key is "
            "configured (AUTOPACK_ARTIFACT_KEYS).",
            code="encryption_not_configured",
        )
    if len(data) > settings.AUTOPACK_ARTIFACT_MAX_BYTES:
        raise ArtifactTooLarge(
            f"The artifact is {len(data)} bytes; the limit is "
            f"{settings.AUTOPACK_ARTIFACT_MAX_BYTES}.",
            details={"limit_bytes": settings.AUTOPACK_ARTIFACT_MAX_BYTES},
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.lower():
        raise Unprocessable(
            "The upload's SHA-256 is not the one declared: the bytes changed on the way.",
            code="sha256_mismatch",
            details={"declared": sha256.lower(), "received": actual},
        )
    existing = _live(run, name)
    if existing is not None:
        return _replay(existing, actual, artifact_class)

    prepared = prepare(data, name=name, content_type=content_type, artifact_class=artifact_class)
    stored = seal_bytes(prepared.content) if rule.encrypt else prepared.content
    storage = artifact_storage()
    path = storage.save(storage_path_for(run, name), ContentFile(stored))
    expires_at = timezone.now() + timedelta(days=retention_days(run.project, artifact_class, rule))
    try:
        with transaction.atomic():
            artifact = ARTIFACT.create(
                Artifact(
                    project=run.project,
                    run=run,
                    name=name,
                    artifact_class=artifact_class,
                    storage_path=path,
                    content_type=content_type[:100],
                    size=len(data),
                    stored_size=len(prepared.content),
                    sha256=actual,
                    content_sha256=hashlib.sha256(prepared.content).hexdigest(),
                    redacted=prepared.redacted,
                    redaction_count=prepared.redaction_count,
                    encrypted=rule.encrypt,
                    expires_at=expires_at,
                    uploaded_by_key=key,
                ),
                status=ArtifactStatus.STORED,
                actor=actor,
                reason="uploaded",
                detail={
                    "sha256": actual,
                    "size": len(data),
                    "redaction_count": prepared.redaction_count,
                    "encrypted": rule.encrypt,
                },
            )
    except IntegrityError:
        storage.delete(path)  # a concurrent upload of the same name won
        existing = _live(run, name)
        if existing is None:
            raise
        return _replay(existing, actual, artifact_class)
    except BaseException:
        storage.delete(path)
        raise
    logger.info(
        "artifact stored",
        extra={
            "artifact_id": artifact.pk,
            "artifact_class": artifact_class,
            "size": len(data),
            "redaction_count": prepared.redaction_count,
            "encrypted": rule.encrypt,
        },
    )
    return artifact, True


def _live(run: Run, name: str) -> Artifact | None:
    return (
        Artifact.objects.filter(
            run=run, name=name, status__in=[ArtifactStatus.STORED, ArtifactStatus.ARCHIVED]
        )
        .select_related("run", "project")
        .first()
    )


def _replay(existing: Artifact, sha256: str, artifact_class: str) -> tuple[Artifact, bool]:
    # another class is another promise (retention, encryption): not the same upload again
    if existing.sha256 != sha256 or existing.artifact_class != artifact_class:
        raise Conflict(
            f"The run already has an artifact named {existing.name} with other content or "
            "another class.",
            code="artifact_exists",
            details={"artifact_id": existing.pk},
        )
    return existing, False
