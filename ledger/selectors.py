"""Reads for the ledger, always scoped by project."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from autopack_site.db.rows import RowReader, fetch_one, next_id_sql
from autopack_site.models import Project
from ledger.models import ExternalAction, ProviderCredential
from policies.compiled import STAMP_WIDTH, policy_stamp_join

_STORED_ANSWER = RowReader(ExternalAction, "a", ("request_hash", "status", "response_body"))


def action_get(*, project: Project, pk: int) -> ExternalAction | None:
    return ExternalAction.objects.filter(project=project, pk=pk).select_related("phase").first()


@dataclass(frozen=True)
class ProposalContext:
    existing: ExternalAction | None  # the stored answer under this key: a replay
    policy_stamp: tuple | None  # for compiled_policy_for
    next_action_id: int | None  # PostgreSQL, new keys only: the id the action will have


def proposal_context(*, project_id: int, key: str) -> ProposalContext:
    """Everything a proposal reads before it decides, in one round trip: the stored answer
    under this key, the project's policy stamp and (PostgreSQL, only when the key is new) a
    fresh action id from the sequence, so the answer and the rows naming the action can be
    built before the one INSERT statement."""
    stamp_columns, stamp_join = policy_stamp_join("p")
    next_id = "NULL"
    if connection.vendor == "postgresql":
        next_id = f"CASE WHEN a.id IS NULL THEN {next_id_sql(ExternalAction)} END"
    row = fetch_one(
        f"SELECT {_STORED_ANSWER.columns}, {stamp_columns}, {next_id} "
        f"FROM (SELECT 1) AS one LEFT JOIN {_STORED_ANSWER.table} "
        "ON a.project_id = %s AND a.idempotency_key = %s "
        f"{stamp_join}",
        [project_id, key, project_id],
    )
    width = len(_STORED_ANSWER.fields)
    stamp = row[width : width + STAMP_WIDTH]
    return ProposalContext(
        existing=None if row[0] is None else _STORED_ANSWER.load(row[:width]),
        policy_stamp=None if stamp[0] is None else tuple(stamp),
        next_action_id=row[width + STAMP_WIDTH],
    )


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
