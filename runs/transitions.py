"""The state machines of runs, phases and attempts. Anything not listed is refused; every move
appends a RunEvent (naming the phase or attempt it is about)."""

from autopack_site.state_machine import StateMachine
from runs.models import Attempt, AttemptStatus, Phase, PhaseStatus, Run, RunEvent, RunStatus

RUN = StateMachine(
    model=Run,
    transitions={
        RunStatus.PENDING: {
            RunStatus.RUNNING,
            RunStatus.PAUSED,
            RunStatus.CANCELLED,
            RunStatus.COMPLETED,
            RunStatus.FAILED,
        },
        RunStatus.RUNNING: {
            RunStatus.PAUSED,
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
        },
        RunStatus.PAUSED: {RunStatus.RUNNING, RunStatus.PENDING, RunStatus.CANCELLED},
        RunStatus.COMPLETED: (),
        RunStatus.FAILED: (),
        RunStatus.CANCELLED: (),
    },
    initial={RunStatus.PENDING},
    event_model=RunEvent,
    event_owner=lambda run: {"run_id": run.pk},
)

PHASE = StateMachine(
    model=Phase,
    transitions={
        PhaseStatus.PENDING: {PhaseStatus.IN_PROGRESS, PhaseStatus.BLOCKED, PhaseStatus.SKIPPED},
        PhaseStatus.IN_PROGRESS: {PhaseStatus.COMPLETED, PhaseStatus.PENDING, PhaseStatus.FAILED},
        PhaseStatus.BLOCKED: {PhaseStatus.PENDING, PhaseStatus.SKIPPED},
        PhaseStatus.COMPLETED: (),
        PhaseStatus.FAILED: (),
        PhaseStatus.SKIPPED: (),
    },
    initial={PhaseStatus.PENDING},
    event_model=RunEvent,
    event_owner=lambda phase: {"run_id": phase.run_id, "phase_id": phase.pk},
)

ATTEMPT = StateMachine(
    model=Attempt,
    transitions={
        AttemptStatus.LEASED: {
            AttemptStatus.SUCCEEDED,
            AttemptStatus.FAILED,
            AttemptStatus.ABANDONED,
        },
        AttemptStatus.SUCCEEDED: (),
        AttemptStatus.FAILED: (),
        AttemptStatus.ABANDONED: (),
    },
    initial={AttemptStatus.LEASED},
    event_model=RunEvent,
    event_owner=lambda attempt: {
        "run_id": attempt.run_id,
        "phase_id": attempt.phase_id,
        "attempt_id": attempt.pk,
    },
)

RUN_ACTIVE = frozenset({RunStatus.PENDING, RunStatus.RUNNING})
PHASE_DONE = frozenset({PhaseStatus.COMPLETED, PhaseStatus.SKIPPED})
