"""Phase outcomes shared by completion and lease expiry. Callers hold the run's row lock."""

from django.db.models import F

from runs.exceptions import IllegalTransition
from runs.models import Phase, PhaseStatus, Run, RunStatus
from runs.services.lifecycle import run_transition_locked
from runs.transitions import PHASE_DONE, PHASE_TRANSITIONS, allowed


def dependency_map(run: Run) -> dict[int, set[int]]:
    """phase id → ids of the phases it depends on, in one query."""
    through = Phase.depends_on.through
    deps: dict[int, set[int]] = {}
    for from_id, to_id in through.objects.filter(from_phase__run=run).values_list(
        "from_phase_id", "to_phase_id"
    ):
        deps.setdefault(from_id, set()).add(to_id)
    return deps


def phase_set_status(*, phase: Phase, to_status: str) -> None:
    if phase.status == to_status:
        return
    if not allowed(PHASE_TRANSITIONS, phase.status, to_status):
        raise IllegalTransition(
            f"Phase {phase.key} cannot go from {phase.status} to {to_status}.",
            details={"from": phase.status, "to": to_status},
        )
    Phase.objects.filter(pk=phase.pk).update(status=to_status)
    phase.status = to_status


def phase_attempt_ended(*, run: Run, phase: Phase, succeeded: bool, actor: str) -> None:
    """After an attempt ends: complete the phase, retry it, or fail it (and the run)."""
    if succeeded:
        phase_set_status(phase=phase, to_status=PhaseStatus.COMPLETED)
        unfinished = run.phases.exclude(status__in=PHASE_DONE).exists()
        if not unfinished and run.status == RunStatus.RUNNING:
            run_transition_locked(
                run=run, to_status=RunStatus.COMPLETED, actor=actor, reason="all phases done"
            )
        return
    if phase.attempts_used < phase.max_attempts:
        phase_set_status(phase=phase, to_status=PhaseStatus.PENDING)
        return
    phase_set_status(phase=phase, to_status=PhaseStatus.FAILED)
    _block_dependents(run=run, failed_phase=phase)
    if run.status in (RunStatus.RUNNING, RunStatus.PENDING):
        run_transition_locked(
            run=run,
            to_status=RunStatus.FAILED,
            actor=actor,
            reason=f"phase {phase.key} failed after {phase.attempts_used} attempt(s)",
        )


def _block_dependents(*, run: Run, failed_phase: Phase) -> None:
    deps = dependency_map(run)
    blocked: set[int] = set()
    frontier = {failed_phase.pk}
    while frontier:
        frontier = {pid for pid, needs in deps.items() if needs & frontier} - blocked
        blocked |= frontier
    if blocked:
        Phase.objects.filter(pk__in=blocked, status=PhaseStatus.PENDING).update(
            status=PhaseStatus.BLOCKED
        )


def phase_take_attempt(*, phase: Phase) -> bool:
    """Compare-and-set pending → in_progress and count the attempt; False if someone else won."""
    taken = Phase.objects.filter(
        pk=phase.pk, status=PhaseStatus.PENDING, attempts_used__lt=F("max_attempts")
    ).update(status=PhaseStatus.IN_PROGRESS, attempts_used=F("attempts_used") + 1)
    if taken == 1:
        phase.status = PhaseStatus.IN_PROGRESS
        phase.attempts_used += 1
    return taken == 1
