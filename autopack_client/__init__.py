"""Autopack's agent client: runs, governance, actions (platform and agent mode), approvals,
the pre-trade risk gate."""

from autopack_client.client import AutopackClient, derive_idempotency_key, verify_signature
from autopack_client.errors import (
    ActionOutcomeError,
    AutopackError,
    Conflict,
    Denied,
    Expired,
    Failed,
    Forbidden,
    NotFound,
    OrderDenied,
    Rejected,
    ServerError,
    TimedOut,
    Unauthorized,
    Unknown,
    ValidationFailed,
)

__all__ = [
    "ActionOutcomeError",
    "AutopackClient",
    "AutopackError",
    "Conflict",
    "Denied",
    "Expired",
    "Failed",
    "Forbidden",
    "NotFound",
    "OrderDenied",
    "Rejected",
    "ServerError",
    "TimedOut",
    "Unauthorized",
    "Unknown",
    "ValidationFailed",
    "derive_idempotency_key",
    "verify_signature",
]
