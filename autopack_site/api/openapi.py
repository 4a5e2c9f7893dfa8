"""Shared OpenAPI pieces: the one error shape and common headers."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES = {
    401: OpenApiResponse(ErrorOut, description="No, malformed, unknown or revoked agent key."),
    403: OpenApiResponse(ErrorOut, description="The key lacks the scope this endpoint needs."),
    404: OpenApiResponse(ErrorOut, description="Not found in the key's project."),
    413: OpenApiResponse(ErrorOut, description="The body is larger than the limit."),
    422: OpenApiResponse(ErrorOut, description="Validation failed; details.fields has paths."),
}

IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Repeat the same key to get the same result instead of a second effect.",
)
