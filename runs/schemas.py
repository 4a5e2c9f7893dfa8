"""Strict pydantic models at the edge: what agents send, and what they get back."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from pydantic import BaseModel, Field

from autopack_site.api.inputs import (
    DisplayText,
    JsonObject,
    QueryIn,
    RowId,
    StrictIn,
    decimal_string,
    integer,
)

PhaseKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")]
# The documented bound; runs/services re-checks against the setting in force.
LeaseSeconds = integer(ge=1, le=settings.AUTOPACK_MAX_LEASE_SECONDS)


class PhaseIn(StrictIn):
    key: PhaseKey
    name: DisplayText = Field(default="", max_length=200)
    depends_on: list[PhaseKey] = Field(default_factory=list, max_length=100)
    max_attempts: integer(ge=1, le=20) = 3


class RunCreateIn(StrictIn):
    family: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
    run_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    config: JsonObject = Field(default_factory=dict)
    phases: list[PhaseIn] = Field(min_length=1, max_length=500)


class ClaimIn(StrictIn):
    lease_seconds: LeaseSeconds | None = None


class HeartbeatIn(StrictIn):
    lease_seconds: LeaseSeconds | None = None


class CheckpointIn(StrictIn):
    checkpoint: JsonObject


class CompleteIn(StrictIn):
    outcome: Literal["succeeded", "failed"]
    error_type: str = Field(default="", max_length=100)
    error_message: str = Field(default="", max_length=10_000)
    checkpoint: JsonObject | None = None


class UsageIn(StrictIn):
    provider: DisplayText = Field(min_length=1, max_length=100)
    model: DisplayText = Field(min_length=1, max_length=200)
    tokens_in: integer(ge=0, le=2_000_000_000)
    tokens_out: integer(ge=0, le=2_000_000_000)
    # A string, so an amount is never a binary float on the wire.
    cost_usd: decimal_string(whole_digits=6, places=6) = Decimal("0")
    attempt: RowId | None = None


class RunListQuery(QueryIn):
    status: Literal["pending", "running", "paused", "completed", "failed", "cancelled"] | None = (
        None
    )
    limit: int = Field(default=50, ge=1, le=200)
    before: RowId | None = Field(default=None, description="Return runs with an id below this.")


class AttemptOut(BaseModel):
    id: int
    run: int
    phase: str
    number: int
    status: str
    lease_expires_at: datetime
    idempotency_key: str | None
    checkpoint: dict[str, Any] | None
    error_type: str
    error_message: str
    started_at: datetime
    heartbeat_at: datetime | None
    finished_at: datetime | None


class ClaimOut(BaseModel):
    attempt: AttemptOut
    phase: "PhaseOut"
    resume_checkpoint: dict[str, Any] | None = Field(
        description="The last checkpoint an earlier attempt at this phase saved, to resume from."
    )
    replayed: bool


class PhaseOut(BaseModel):
    key: str
    name: str
    position: int
    status: str
    depends_on: list[str]
    max_attempts: int
    attempts_used: int


class UsageByModelOut(BaseModel):
    provider: str
    model: str
    events: int
    tokens_in: int
    tokens_out: int
    cost_usd: str


class UsageTotalsOut(BaseModel):
    events: int
    tokens_in: int
    tokens_out: int
    cost_usd: str
    by_model: list[UsageByModelOut]


class RunOut(BaseModel):
    id: int
    project: str
    family: str
    run_id: str
    status: str
    config: dict[str, Any]
    config_hash: str
    layout_path: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    phases: list[PhaseOut]
    attempts: list[AttemptOut]
    usage: UsageTotalsOut | None = None


class RunSummaryOut(BaseModel):
    id: int
    project: str
    family: str
    run_id: str
    status: str
    layout_path: str
    created_at: datetime
    finished_at: datetime | None


class RunListOut(BaseModel):
    results: list[RunSummaryOut]
    next_before: int | None = Field(description="Pass as ?before= to fetch the next page.")


class UsageEventOut(BaseModel):
    id: int
    run: int
    attempt: int | None
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: str
    created_at: datetime


ClaimOut.model_rebuild()
