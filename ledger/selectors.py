"""Reads for the ledger, always scoped by project."""

from datetime import datetime

from django.db.models import QuerySet

from autopack_site.models import Project
from ledger.models import ActionStatus, ExternalAction, ProviderCredential


def action_get(*, project: Project, pk: int) -> ExternalAction | None:
    return ExternalAction.objects.filter(project=project, pk=pk).select_related("phase").first()


def action_by_idempotency_key(*, project: Project, key: str) -> ExternalAction | None:
    """What a replay needs (request hash, status, the stored answer): one indexed read."""
    return (
        ExternalAction.objects.filter(project=project, idempotency_key=key)
        .select_related("answer")
        .only("request_hash", "status", "answer__status_code", "answer__body")
        .first()
    )


def dry_run_recorded(*, project: Project, payload_hash: str) -> bool:
    return ExternalAction.objects.filter(
        project=project, payload_hash=payload_hash, dry_run=True, status=ActionStatus.DRY_RUN
    ).exists()


def actions_for_export(
    *,
    project: Project,
    run_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ExternalAction]:
    rows = ExternalAction.objects.filter(project=project).select_related("phase")
    if run_id is not None:
        rows = rows.filter(run_id=run_id)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    return rows.order_by("id").prefetch_related("events")


def credentials_for_project(*, project: Project) -> QuerySet[ProviderCredential]:
    return ProviderCredential.objects.filter(project=project).order_by("provider", "environment")
