"""Run creation and run status changes."""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from autopack_site.actors import actor_of_key
from autopack_site.canonical import sha256_of
from autopack_site.models import AgentKey, Project
from autopack_site.redaction import redact
from autopack_site.state_machine import IllegalTransition
from runs.exceptions import ConfigDrift, InvalidPhaseGraph
from runs.models import Attempt, AttemptStatus, Phase, PhaseStatus, Run, RunStatus
from runs.transitions import ATTEMPT, PHASE, RUN


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
                actor = actor_of_key(created_by_key)
                run = RUN.create(
                    Run(
                        project=project,
                        family=family,
                        run_id=run_id,
                        # stored redacted; the hash (drift detection) is the full config's
                        config=redact(config),
                        config_hash=config_hash,
                        created_by_key=created_by_key,
                    ),
                    status=RunStatus.PENDING,
                    actor=actor,
                    reason="created",
                )
                rows = PHASE.create_all(
                    [
                        Phase(
                            run=run,
                            key=spec.key,
                            name=spec.name,
                            position=index,
                            max_attempts=spec.max_attempts,
                        )
                        for index, spec in enumerate(phases)
                    ],
                    status=PhaseStatus.PENDING,
                    actor=actor,
                    reason="created",
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


def run_transition(*, run: Run, to_status: str, actor: str, reason: str = "") -> Run:
    with transaction.atomic():
        locked = RUN.lock(run.pk)
        if locked.status == to_status:
            return locked
        RUN.move(locked, to_status, actor=actor, reason=reason)
        if to_status == RunStatus.CANCELLED:
            # Nobody may finish work on a cancelled run: outstanding leases end now.
            ATTEMPT.move_all(
                Attempt.objects.filter(run=locked, status=AttemptStatus.LEASED),
                AttemptStatus.ABANDONED,
                actor=actor,
                reason="run cancelled",
                error_type="run_cancelled",
                error_message=reason[:500],
            )
            PHASE.move_all(
                locked.phases.filter(status=PhaseStatus.IN_PROGRESS),
                PhaseStatus.PENDING,
                actor=actor,
                reason="run cancelled",
            )
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
