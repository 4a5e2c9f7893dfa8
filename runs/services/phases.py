"""Phase outcomes shared by completion and lease expiry. Callers hold the run's row lock."""

from django.db.models import F, Q

from runs.models import Phase, PhaseStatus, Run, RunStatus
from runs.transitions import PHASE, PHASE_DONE, RUN


def dependency_map(run: Run) -> dict[int, set[int]]:
    """phase id → ids of the phases it depends on, in one query."""
    through = Phase.depends_on.through
    deps: dict[int, set[int]] = {}
    for from_id, to_id in through.objects.filter(from_phase__run=run).values_list(
        "from_phase_id", "to_phase_id"
    ):
        deps.setdefault(from_id, set()).add(to_id)
    return deps


def phase_attempt_ended(*, run: Run, phase: Phase, succeeded: bool, actor: str) -> None:
    """After an attempt ends: complete the phase, retry it, or fail it (and the run).
    The run's row lock (held by the caller) serialises every change to its phases."""
    if succeeded:
        PHASE.move(phase, PhaseStatus.COMPLETED, actor=actor, reason="attempt succeeded")
        unfinished = run.phases.exclude(status__in=PHASE_DONE).exists()
        if not unfinished and run.status == RunStatus.RUNNING:
            RUN.move(run, RunStatus.COMPLETED, actor=actor, reason="all phases done")
        return
    if phase.attempts_used < phase.max_attempts:
        PHASE.move(phase, PhaseStatus.PENDING, actor=actor, reason="attempt ended; retry")
        return
    PHASE.move(
        phase,
        PhaseStatus.FAILED,
        actor=actor,
        reason=f"failed after {phase.attempts_used} attempt(s)",
    )
    _block_dependents(run=run, failed_phase=phase, actor=actor)
    if run.status in (RunStatus.RUNNING, RunStatus.PENDING):
        RUN.move(
            run,
            RunStatus.FAILED,
            actor=actor,
            reason=f"phase {phase.key} failed after {phase.attempts_used} attempt(s)",
        )


def _block_dependents(*, run: Run, failed_phase: Phase, actor: str) -> None:
    deps = dependency_map(run)
    blocked: set[int] = set()
    frontier = {failed_phase.pk}
    while frontier:
        frontier = {pid for pid, needs in deps.items() if needs & frontier} - blocked
        blocked |= frontier
    if blocked:
        PHASE.move_all(
            Phase.objects.filter(pk__in=blocked, status=PhaseStatus.PENDING),
            PhaseStatus.BLOCKED,
            actor=actor,
            reason=f"depends on failed phase {failed_phase.key}",
        )


def phase_take_attempt(*, phase: Phase, actor: str) -> bool:
    """Compare-and-set pending → in_progress and count the attempt; False if someone else won."""
    taken = PHASE.move_if(
        phase,
        PhaseStatus.PENDING,
        PhaseStatus.IN_PROGRESS,
        actor=actor,
        reason="claimed",
        where=Q(attempts_used__lt=F("max_attempts")),
        attempts_used=F("attempts_used") + 1,
    )
    if taken:
        phase.attempts_used += 1
    return taken
