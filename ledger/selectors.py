"""Reads for the ledger, always scoped by project."""

from datetime import datetime

from django.db.models import QuerySet

from autopack_site.db.rows import RowReader, fetch_one
from autopack_site.models import Project
from ledger.models import ExternalAction, ProviderCredential

_STORED_ANSWER = RowReader(ExternalAction, "a", ("request_hash", "status", "response_body"))


def action_get(*, project: Project, pk: int) -> ExternalAction | None:
    return ExternalAction.objects.filter(project=project, pk=pk).select_related("phase").first()


def action_by_idempotency_key(*, project_id: int, key: str) -> ExternalAction | None:
    """What a replay needs (request hash, status, stored answer): one indexed read."""
    row = fetch_one(
        f"SELECT {_STORED_ANSWER.columns} FROM {_STORED_ANSWER.table} "
        "WHERE a.project_id = %s AND a.idempotency_key = %s",
        [project_id, key],
    )
    return None if row is None else _STORED_ANSWER.load(row)


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
