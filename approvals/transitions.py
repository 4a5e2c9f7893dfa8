"""Allowed status moves of an approval request. Anything not listed is refused."""

from approvals.models import ApprovalStatus as S

APPROVAL_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED, S.SUPERSEDED}),
    S.APPROVED: frozenset({S.CONSUMED, S.EXPIRED, S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
    S.SUPERSEDED: frozenset(),
    S.CONSUMED: frozenset(),
}

# Events that notify the outside world (webhook to the agent; operators on "created").
NOTIFY_EVENTS = {
    S.APPROVED: "approved",
    S.REJECTED: "rejected",
    S.EXPIRED: "expired",
    S.CANCELLED: "cancelled",
    S.SUPERSEDED: "superseded",
    S.CONSUMED: "consumed",
}


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in APPROVAL_TRANSITIONS.get(from_status, frozenset())
