"""Retention: expired artifacts are deleted (file and all) or, for audit classes, archived.
Each deletion is an ArtifactEvent naming what was removed, and a log line.

The row moves first (in its own transaction), the file goes after the commit; a crash in
between leaves a deleted row whose file is still there, which the next sweep removes
(``file_purged_at`` is empty until the file is gone)."""

import logging

from django.db import transaction
from django.utils import timezone

from artifacts.classes import RULES
from artifacts.models import Artifact, ArtifactStatus
from artifacts.storage import artifact_storage
from artifacts.transitions import ARTIFACT

logger = logging.getLogger(__name__)


def _expire_one(pk: int) -> str | None:
    with transaction.atomic():
        artifact = ARTIFACT.lock(pk)
        # recheck under the lock: another sweep may have taken it
        if artifact.status != ArtifactStatus.STORED or artifact.expires_at is None:
            return None
        if artifact.expires_at > timezone.now():
            return None
        detail = {
            "storage_path": artifact.storage_path,
            "size": artifact.stored_size,
            "sha256": artifact.sha256,
            "artifact_class": artifact.artifact_class,
            "expired_at": artifact.expires_at.isoformat(),
        }
        if RULES[artifact.artifact_class].archive:
            ARTIFACT.move(
                artifact, ArtifactStatus.ARCHIVED, actor="system", reason="retention", detail=detail
            )
            return "archived"
        ARTIFACT.move(
            artifact, ArtifactStatus.DELETED, actor="system", reason="retention", detail=detail
        )
        return "deleted"


def purge_deleted_files() -> int:
    """Removes the files of deleted artifacts (outside any transaction) and stamps them."""
    storage = artifact_storage()
    purged = 0
    pending = Artifact.objects.filter(
        status=ArtifactStatus.DELETED, file_purged_at__isnull=True
    ).values_list("pk", "storage_path", "project_id", "artifact_class")
    for pk, path, project_id, artifact_class in pending:
        storage.delete(path)  # no error when it is already gone
        Artifact.objects.filter(pk=pk, file_purged_at__isnull=True).update(
            file_purged_at=timezone.now()
        )
        logger.info(
            "artifact file deleted",
            extra={
                "artifact_id": pk,
                "project_id": project_id,
                "artifact_class": artifact_class,
                "storage_path": path,
            },
        )
        purged += 1
    return purged


def artifacts_sweep_expired(*, limit: int = 500) -> dict[str, int]:
    """The schedule's pass: every stored artifact past its expiry, archived or deleted."""
    due = list(
        Artifact.objects.filter(status=ArtifactStatus.STORED, expires_at__lte=timezone.now())
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"archived": 0, "deleted": 0}
    for pk in due:
        outcome = _expire_one(pk)
        if outcome:
            counts[outcome] += 1
    counts["files_removed"] = purge_deleted_files()
    return counts
