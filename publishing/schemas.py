"""API bodies for publish packets, the policy gates and the emergency switch."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from autopack_site.api.inputs import DisplayText, StrictIn, integer

Provider = Literal["youtube", "etsy", "shopify"]


class MediaIn(StrictIn):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: integer(ge=1) = Field(description="Bytes.")  # type: ignore[valid-type]
    mime_type: str = Field(pattern=r"^[a-z]+/[a-z0-9][a-z0-9.+-]*$", max_length=100)
    name: DisplayText = Field(default="", max_length=200)


class PacketIn(StrictIn):
    provider: Provider
    action: str = Field(min_length=1, max_length=100)
    title: DisplayText = Field(min_length=1, max_length=300)
    description: DisplayText = Field(default="", max_length=50_000)
    tags: list[DisplayText] = Field(default_factory=list, max_length=50)
    media: list[MediaIn] = Field(default_factory=list, max_length=20)
    ai_generated: bool = False
    target: DisplayText = Field(default="", max_length=200, description="Channel or shop.")


class FlagOut(BaseModel):
    code: str
    severity: Literal["warning", "blocking"]
    message: str
    term: str | None = None


class SnapshotRefOut(BaseModel):
    source: int
    name: str
    state: str
    snapshot: int | None
    content_hash: str


class PacketRefOut(BaseModel):
    id: int
    content_hash: str


class PacketOut(BaseModel):
    id: int
    provider: str
    action: str
    title: str
    description: str
    tags: list[str]
    media: list[dict]
    ai_generated: bool
    target: str
    status: str
    revision: int
    content_hash: str
    flags: list[FlagOut]
    policy_snapshots: list[SnapshotRefOut]
    approval: int | None
    reference: PacketRefOut = Field(
        description="What a publishing action carries as payload.publish_packet."
    )
    created_at: datetime
    updated_at: datetime


class SourceStateOut(BaseModel):
    id: int
    name: str
    url: str
    category: str
    required: bool
    enabled: bool
    state: Literal["fresh", "missing", "stale", "unacknowledged", "disabled"]
    last_success_at: datetime | None
    age_seconds: int | None
    pending_change: int | None
    consecutive_failures: int
    alerting: bool


class GateOut(BaseModel):
    provider: str
    configured: bool
    open: bool
    reason: str | None
    reason_code: str | None
    sources: list[SourceStateOut]


class SwitchIn(StrictIn):
    reason: DisplayText = Field(min_length=1, max_length=500)


class SwitchOut(BaseModel):
    scope: Literal["project", "installation"]
    status: str = Field(description="engaged or released")
    reason: str
    engaged_by: str
    engaged_at: datetime | None
    released_by: str
    released_at: datetime | None


class SwitchesOut(BaseModel):
    engaged: bool
    switches: list[SwitchOut]
