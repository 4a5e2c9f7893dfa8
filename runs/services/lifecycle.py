"""Run creation and run status changes."""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from autopack_site.canonical import sha256_of
from autopack_site.models import AgentKey, Project
from runs.exceptions import ConfigDrift, IllegalTransition, InvalidPhaseGraph
from runs.models import Attempt, AttemptStatus, Phase, Run, RunEvent, RunStatus
from runs.transitions import RUN_TRANSITIONS, allowed

TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


@dataclass(frozen=True)
class PhaseSpec:
    key: str
    name: str = ""
    depends_on: tuple[str, ...] = ()
    max_attempts: int = 3


def _check_phase_graph(phases: list[PhaseSpec]) -> None:
    keys = [phase.key for phase in phases]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InvalidPhaseGraph(
            f"Phase keys must be unique; repeated: {', '.join(duplicates)}.",
            details={"duplicate_keys": duplicates},
        )
    known = set(keys)
    for phase in phases:
        unknown = sorted(set(phase.depends_on) - known)
        if unknown:
            raise InvalidPhaseGraph(
                f"Phase {phase.key!r} depends on unknown phase(s): {', '.join(unknown)}.",
                details={"phase": phase.key, "unknown": unknown},
            )
    # Kahn's algorithm: whatever is left after peeling off ready phases sits on a cycle.
    remaining = {phase.key: set(phase.depends_on) for phase in phases}
    while True:
        ready = [key for key, deps in remaining.items() if not deps]
        if not ready:
            break
        for key in ready:
            del remaining[key]
        for deps in remaining.values():
            deps.difference_update(ready)
    if remaining:
        raise InvalidPhaseGraph(
            f"Phase dependencies form a cycle through: {', '.join(sorted(remaining))}.",
            details={"cycle": sorted(remaining)},
        )


def run_config_hash(*, config: dict[str, Any], phases: list[PhaseSpec]) -> str:
    return sha256_of(
        {
            "config": config,
            "phases": [
                {
                    "key": p.key,
                    "name": p.name,
                    "depends_on": sorted(p.depends_on),
                    "max_attempts": p.max_attempts,
                }
                for p in phases
            ],
        }
    )


def run_create(
    *,
    project: Project,
    family: str,
    run_id: str,
    config: dict[str, Any],
    phases: list[PhaseSpec],
    created_by_key: AgentKey | None = None,
) -> tuple[Run, bool]:
    """Creates the run, or returns the existing one when it has the same config (created=False).

    The same family and run_id with a different config is drift: ConfigDrift (409).
    """
    _check_phase_graph(phases)
    config_hash = run_config_hash(config=config, phases=phases)
    existing = Run.objects.filter(project=project, family=family, run_id=run_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                run = Run.objects.create(
                    project=project,
                    family=family,
                    run_id=run_id,
                    config=config,
                    config_hash=config_hash,
                    created_by_key=created_by_key,
                )
                rows = Phase.objects.bulk_create(
                    [
                        Phase(
                            run=run,
                            key=spec.key,
                            name=spec.name,
                            position=index,
                            max_attempts=spec.max_attempts,
                        )
                        for index, spec in enumerate(phases)
                    ]
                )
                by_key = {row.key: row for row in rows}
                Phase.depends_on.through.objects.bulk_create(
                    [
                        Phase.depends_on.through(
                            from_phase_id=by_key[spec.key].pk, to_phase_id=by_key[dep].pk
                        )
                        for spec in phases
                        for dep in spec.depends_on
                    ]
                )
                RunEvent.objects.create(
                    run=run,
                    from_status=RunStatus.PENDING,
                    to_status=RunStatus.PENDING,
                    actor=_actor(created_by_key),
                    reason="created",
                )
            return run, True
        except IntegrityError:
            # A concurrent create with the same family and run_id won; compare against it.
            existing = Run.objects.get(project=project, family=family, run_id=run_id)
    if existing.config_hash != config_hash:
        raise ConfigDrift(
            "This run already exists with a different config; start a new run_id to change it.",
            details={"existing_config_hash": existing.config_hash, "config_hash": config_hash},
        )
    return existing, False


def _actor(key: AgentKey | None) -> str:
    return f"agent:{key.name}" if key else "system"


def run_transition_locked(*, run: Run, to_status: str, actor: str, reason: str = "") -> Run:
    """Moves a run the caller has already locked; writes the event row in the same transaction."""
    if run.status == to_status:
        return run
    if not allowed(RUN_TRANSITIONS, run.status, to_status):
        raise IllegalTransition(
            f"A {run.status} run cannot become {to_status}.",
            details={"from": run.status, "to": to_status},
        )
    RunEvent.objects.create(
        run=run, from_status=run.status, to_status=to_status, actor=actor, reason=reason[:500]
    )
    run.status = to_status
    fields = ["status", "updated_at"]
    if to_status in TERMINAL_RUN_STATUSES:
        run.finished_at = timezone.now()
        fields.append("finished_at")
    run.save(update_fields=fields)
    return run


def run_transition(*, run: Run, to_status: str, actor: str, reason: str = "") -> Run:
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        run_transition_locked(run=locked, to_status=to_status, actor=actor, reason=reason)
        if to_status == RunStatus.CANCELLED:
            # Nobody may finish work on a cancelled run: outstanding leases end now.
            Attempt.objects.filter(run=locked, status=AttemptStatus.LEASED).update(
                status=AttemptStatus.ABANDONED,
                finished_at=timezone.now(),
                error_type="run_cancelled",
                error_message=reason[:500],
            )
            locked.phases.filter(status="in_progress").update(status="pending")
    return locked


def run_pause(*, run: Run, actor: str, reason: str = "") -> Run:
    return run_transition(run=run, to_status=RunStatus.PAUSED, actor=actor, reason=reason)


def run_resume(*, run: Run, actor: str, reason: str = "") -> Run:
    started = run.attempts.exists()
    to_status = RunStatus.RUNNING if started else RunStatus.PENDING
    if run.status != RunStatus.PAUSED:
        raise IllegalTransition(
            f"Only a paused run can be resumed; this one is {run.status}.",
            details={"from": run.status, "to": to_status},
        )
    return run_transition(run=run, to_status=to_status, actor=actor, reason=reason)


def run_cancel(*, run: Run, actor: str, reason: str = "") -> Run:
    return run_transition(run=run, to_status=RunStatus.CANCELLED, actor=actor, reason=reason)
