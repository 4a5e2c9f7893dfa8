"""Typed errors: every API error arrives in the one shape {"error": {code, message, details}}."""

from typing import Any


class AutopackError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        details: dict[str, Any] | None = None,
        request_id: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or {}
        self.request_id = request_id


class Unauthorized(AutopackError):
    """401: no, unknown or revoked key."""


class Forbidden(AutopackError):
    """403: the key lacks a scope."""


class NotFound(AutopackError):
    """404: not in the key's project."""


class Conflict(AutopackError):
    """409: state conflict (lease lost, in progress, not claimable...)."""


class ValidationFailed(AutopackError):
    """400/422: bad input; ``details["fields"]`` has the paths."""


class ServerError(AutopackError):
    """5xx after the retries ran out."""


class ActionOutcomeError(AutopackError):
    """An action ended without succeeding; ``action`` holds its last state."""

    def __init__(self, message: str, *, action: Any = None, **kwargs):
        super().__init__(message, **kwargs)
        self.action = action


class Denied(ActionOutcomeError):
    """The policy denied the action."""


class Rejected(ActionOutcomeError):
    """An operator rejected the action (see the approval's decisions)."""


class Expired(ActionOutcomeError):
    """The approval expired before it was used."""


class Unknown(ActionOutcomeError):
    """The outcome is unknown and waits for reconciliation; do not retry blindly."""


class Failed(ActionOutcomeError):
    """The provider refused or the call failed for good."""


class TimedOut(ActionOutcomeError):
    """Still not final when the client stopped waiting."""


class OrderDenied(AutopackError):
    """The pre-trade risk gate denied the order; ``check`` holds the decision and its reasons."""

    def __init__(self, message: str, *, check: Any = None, **kwargs):
        super().__init__(message, **kwargs)
        self.check = check


BY_STATUS = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    400: ValidationFailed,
    413: ValidationFailed,
    422: ValidationFailed,
}
