"""API bodies for approvals. Agents read requests; no API accepts an agent's decision."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

StatusName = Literal[
    "pending", "approved", "rejected", "expired", "cancelled", "superseded", "consumed"
]


class ApprovalQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    wait: int = Field(default=0, ge=0, le=30, description="Long-poll up to N seconds (≤ 30).")


class ApprovalListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: StatusName | None = None
    limit: int = Field(default=50, ge=1, le=200)
    before: int | None = Field(default=None, ge=1)


class DecisionOut(BaseModel):
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
    decisions: list[DecisionOut]
    explanation: dict[str, Any]


class ApprovalListOut(BaseModel):
    results: list[ApprovalSummaryOut]
    next_before: int | None
