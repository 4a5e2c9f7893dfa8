"""Allowed status moves of an external action. Anything not listed is refused.

An action that may have reached the provider never goes back to a retry on its own: a lease
that expires makes it `unknown`, and only a provider lookup ("absent") or an operator makes it
`approved` again."""

from ledger.models import ActionStatus as S

ACTION_TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.DRY_RUN, S.DENIED, S.PENDING_APPROVAL, S.APPROVED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED}),
    S.APPROVED: frozenset({S.EXECUTING, S.HELD, S.EXPIRED, S.CANCELLED, S.FAILED}),
    S.HELD: frozenset({S.APPROVED, S.CANCELLED}),
    S.EXECUTING: frozenset({S.SUCCEEDED, S.FAILED, S.APPROVED, S.UNKNOWN, S.HELD, S.EXPIRED}),
    S.UNKNOWN: frozenset({S.SUCCEEDED, S.APPROVED, S.NEEDS_RECONCILIATION, S.FAILED}),
    S.NEEDS_RECONCILIATION: frozenset({S.SUCCEEDED, S.FAILED, S.APPROVED}),
    S.DRY_RUN: frozenset(),
    S.DENIED: frozenset(),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}

FINAL = frozenset(status for status, moves in ACTION_TRANSITIONS.items() if not moves)


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in ACTION_TRANSITIONS.get(from_status, frozenset())
