"""API bodies for actions, providers and credentials."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

from autopack_site.api.inputs import AwareTime, JsonObject, QueryIn, RowId, StrictIn
from autopack_site.outbound import CallbackURL


class ActionIn(StrictIn):
    provider: str = Field(min_length=1, max_length=50)
    action: str = Field(min_length=1, max_length=100)
    payload: JsonObject
    dry_run: bool = False
    run: RowId | None = None
    phase: str | None = Field(default=None, max_length=100)
    callback_url: CallbackURL = ""
    mode: Literal["platform", "agent"] = "platform"


class ActionQuery(QueryIn):
    wait: int = Field(
        default=0, ge=0, le=30, description="Long-poll up to N seconds (≤ 30) while in progress."
    )


class ActionResultIn(StrictIn):
    outcome: Literal["succeeded", "failed", "unknown"]
    payload_hash: str = Field(min_length=64, max_length=64)
    provider_reference: str = Field(default="", max_length=255)
    summary: JsonObject = Field(default_factory=dict)
    error: str = Field(default="", max_length=1000)


class ActionOut(BaseModel):
    id: int
    idempotency_key: str
    provider: str
    action: str
    payload: dict[str, Any]
    payload_hash: str
    dry_run: bool
    mode: str
    run: int | None
    phase: str | None
    status: str
    decision: dict[str, Any]
    rendered_request: dict[str, Any]
    side_effects: list[dict[str, Any]]
    approval: dict[str, Any] | None
    reference: str
    attempts: int
    lease_expires_at: datetime | None
    provider_reference: str
    response_summary: dict[str, Any]
    error: str
    created_at: datetime
    finished_at: datetime | None


class ActionExportEventOut(BaseModel):
    from_status: str = Field(serialization_alias="from")
    to: str
    actor: str
    detail: dict[str, Any]
    at: datetime


class ActionExportOut(ActionOut):
    events: list[ActionExportEventOut]


class ActionsExportOut(RootModel[list[ActionExportOut]]):
    pass


class ProviderActionOut(BaseModel):
    name: str
    json_schema: dict[str, Any]


class ProviderOut(BaseModel):
    name: str
    dedupes_by_reference: bool
    actions: list[ProviderActionOut]


class ProvidersOut(BaseModel):
    results: list[ProviderOut]


class CredentialHealthOut(BaseModel):
    provider: str
    environment: str
    name: str
    state: str
    age_days: int
    rotate_after_days: int
    refuse_after_days: int
    held_reason: str


class CredentialsHealthOut(BaseModel):
    results: list[CredentialHealthOut]


class ExportQuery(QueryIn):
    run: RowId | None = None
    since: AwareTime | None = None
    until: AwareTime | None = None
