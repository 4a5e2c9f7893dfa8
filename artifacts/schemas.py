"""Strict pydantic models at the edge for artifacts and handoffs."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from artifacts.models import ArtifactClass
from autopack_site.api.inputs import DisplayText, QueryIn, RowId, StrictIn, integer

ArtifactClassName = Literal[tuple(ArtifactClass.values)]  # type: ignore[valid-type]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class ArtifactUploadIn(StrictIn):
    """The multipart form's fields besides ``file``."""

    artifact_class: ArtifactClassName
    sha256: Sha256
    name: str = Field(default="", max_length=300)


class ArtifactOut(BaseModel):
    id: int
    run_id: int
    name: str
    artifact_class: str
    status: str
    content_type: str
    size: int
    stored_size: int
    sha256: str
    redacted: bool
    redaction_count: int
    encrypted: bool
    expires_at: datetime | None
    created_at: datetime
    download_url: str


class ArtifactListQuery(QueryIn):
    before: RowId | None = None
    limit: integer(ge=1, le=200) = 50


class ArtifactListOut(BaseModel):
    results: list[ArtifactOut]
    next_before: int | None


HandoffKindName = Literal["research", "planning", "analysis"]


class HandoffBriefIn(StrictIn):
    kind: HandoffKindName
    strict: bool = False
    instructions: DisplayText = Field(default="", max_length=4000)


class HandoffOut(BaseModel):
    id: int
    run_id: int
    kind: str
    status: str
    strict: bool
    brief: str
    context_sha256: str
    contract: dict[str, Any]
    output: dict[str, Any] | None
    output_sha256: str
    confidence: float | None
    warnings: list[dict[str, Any]]
    created_at: datetime
    finished_at: datetime | None


class ContextQuery(QueryIn):
    # "format" is DRF's own content-negotiation parameter, hence "render"
    render: Literal["json", "markdown"] = "json"


class ContextOut(BaseModel):
    document: dict[str, Any]
    sha256: str
    artifact_id: int
