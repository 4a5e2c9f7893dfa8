"""Allowed status moves. Anything not listed is an IllegalTransition."""

from runs.models import AttemptStatus, PhaseStatus, RunStatus

RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    RunStatus.PENDING: frozenset(
        {RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.CANCELLED, RunStatus.COMPLETED}
    ),
    RunStatus.RUNNING: frozenset(
        {RunStatus.PAUSED, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.PAUSED: frozenset({RunStatus.RUNNING, RunStatus.PENDING, RunStatus.CANCELLED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}

PHASE_TRANSITIONS: dict[str, frozenset[str]] = {
    PhaseStatus.PENDING: frozenset(
        {PhaseStatus.IN_PROGRESS, PhaseStatus.BLOCKED, PhaseStatus.SKIPPED}
    ),
    PhaseStatus.IN_PROGRESS: frozenset(
        {PhaseStatus.COMPLETED, PhaseStatus.PENDING, PhaseStatus.FAILED}
    ),
    PhaseStatus.BLOCKED: frozenset({PhaseStatus.PENDING, PhaseStatus.SKIPPED}),
    PhaseStatus.COMPLETED: frozenset(),
    PhaseStatus.FAILED: frozenset(),
    PhaseStatus.SKIPPED: frozenset(),
}

ATTEMPT_TRANSITIONS: dict[str, frozenset[str]] = {
    AttemptStatus.LEASED: frozenset(
        {AttemptStatus.SUCCEEDED, AttemptStatus.FAILED, AttemptStatus.ABANDONED}
    ),
    AttemptStatus.SUCCEEDED: frozenset(),
    AttemptStatus.FAILED: frozenset(),
    AttemptStatus.ABANDONED: frozenset(),
}

RUN_ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING})
PHASE_DONE = frozenset({PhaseStatus.COMPLETED, PhaseStatus.SKIPPED})


def allowed(table: dict[str, frozenset[str]], from_status: str, to_status: str) -> bool:
    return to_status in table.get(from_status, frozenset())
