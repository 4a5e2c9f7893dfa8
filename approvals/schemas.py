"""API bodies for approvals. Agents read requests; no API accepts an agent's decision."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from autopack_site.api.inputs import QueryIn, RowId

StatusName = Literal[
    "pending", "approved", "rejected", "expired", "cancelled", "superseded", "consumed"
]


class ApprovalQuery(QueryIn):
    wait: int = Field(
        default=0,
        ge=0,
        le=30,
        description="Long-poll: wait up to N seconds (≤ 30) while the request is pending. "
        "No database transaction is held while waiting.",
    )


class ApprovalListQuery(QueryIn):
    status: StatusName | None = None
    limit: int = Field(default=50, ge=1, le=200)
    before: RowId | None = Field(default=None, description="Return requests with an id below this.")


class ApprovalDecisionOut(BaseModel):
    verdict: Literal["approve", "reject"]
    approver: str = Field(
        description="Who decided, as agents see it: the role and an opaque id, never a name."
    )
    reason: str
    reason_code: str
    payload_hash_seen: str
    at: datetime


class ApprovalSummaryOut(BaseModel):
    id: int
    kind: str
    status: StatusName
    title: str
    subject: str
    target_id: int | None
    payload_hash: str
    risk_score: float
    expires_at: datetime
    created_at: datetime


class ApprovalOut(ApprovalSummaryOut):
    required_approvals: int
    approvals_count: int
    requester: str
    valid_until: datetime | None
    decided_at: datetime | None
    consumed_at: datetime | None
    superseded_by: int | None
    decisions: list[ApprovalDecisionOut]
    explanation: dict[str, Any]


class ApprovalListOut(BaseModel):
    results: list[ApprovalSummaryOut]
    next_before: int | None
