"""Claiming the next executable phase, and ending leases that ran out."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from autopack_site.actors import actor_of_key
from autopack_site.errors import Unprocessable
from autopack_site.models import AgentKey
from autopack_site.state_machine import locked_with
from runs.models import Attempt, AttemptStatus, Phase, PhaseStatus, Run, RunStatus
from runs.services.phases import dependency_map, phase_attempt_ended, phase_take_attempt
from runs.transitions import ATTEMPT, PHASE_DONE, RUN, RUN_ACTIVE

LEASE_SWEEPER = "lease-sweeper"


@dataclass(frozen=True)
class ClaimResult:
    attempt: Attempt | None
    replayed: bool = False
    resume_checkpoint: dict | None = None
    run_status: str = ""


def lease_duration(lease_seconds: int | None) -> timedelta:
    seconds = lease_seconds or settings.AUTOPACK_DEFAULT_LEASE_SECONDS
    if not 1 <= seconds <= settings.AUTOPACK_MAX_LEASE_SECONDS:
        raise Unprocessable(
            f"lease_seconds must be between 1 and {settings.AUTOPACK_MAX_LEASE_SECONDS}.",
            code="invalid_lease",
            details={"lease_seconds": seconds, "max": settings.AUTOPACK_MAX_LEASE_SECONDS},
        )
    return timedelta(seconds=seconds)


def phase_claim_next(
    *,
    run: Run,
    claimed_by_key: AgentKey | None,
    lease_seconds: int | None = None,
    idempotency_key: str | None = None,
) -> ClaimResult:
    """Leases the first pending phase whose dependencies are done. Exactly one claimer wins:
    claimers of one run queue on the run's row lock, and a partial unique index forbids two
    leased attempts on one phase."""
    lease = lease_duration(lease_seconds)
    with transaction.atomic():
        locked_run = RUN.lock(run.pk)
        if idempotency_key:
            earlier = (
                Attempt.objects.filter(run=locked_run, idempotency_key=idempotency_key)
                .select_related("phase")
                .first()
            )
            if earlier is not None:
                return ClaimResult(earlier, replayed=True, run_status=locked_run.status)
        if locked_run.status not in RUN_ACTIVE:
            return ClaimResult(None, run_status=locked_run.status)
        now = timezone.now()
        _expire_leases_locked(run=locked_run, now=now)
        if locked_run.status not in RUN_ACTIVE:
            return ClaimResult(None, run_status=locked_run.status)
        actor = actor_of_key(claimed_by_key)
        phase = _next_ready_phase(locked_run)
        if phase is None or not phase_take_attempt(phase=phase, actor=actor):
            return ClaimResult(None, run_status=locked_run.status)
        attempt = ATTEMPT.create(
            Attempt(
                run=locked_run,
                phase=phase,
                number=phase.attempts_used,
                idempotency_key=idempotency_key or None,
                claimed_by_key=claimed_by_key,
                lease_expires_at=now + lease,
            ),
            status=AttemptStatus.LEASED,
            actor=actor,
            reason="claimed",
        )
        if locked_run.status == RunStatus.PENDING:
            RUN.move(locked_run, RunStatus.RUNNING, actor=actor, reason="first claim")
        resume = (
            Attempt.objects.filter(phase=phase, checkpoint__isnull=False)
            .exclude(pk=attempt.pk)
            .order_by("-number")
            .values_list("checkpoint", flat=True)
            .first()
        )
        return ClaimResult(attempt, resume_checkpoint=resume, run_status=locked_run.status)


def _next_ready_phase(run: Run) -> Phase | None:
    phases = list(run.phases.all())
    status_by_id = {phase.pk: phase.status for phase in phases}
    deps = dependency_map(run)
    for phase in phases:
        if phase.status != PhaseStatus.PENDING or phase.attempts_used >= phase.max_attempts:
            continue
        if all(status_by_id[dep] in PHASE_DONE for dep in deps.get(phase.pk, ())):
            return phase
    return None


def _expire_leases_locked(*, run: Run, now: datetime) -> int:
    """Abandons the run's leased attempts whose lease ran out; the caller holds the run lock."""
    # FOR UPDATE over the join locks each attempt with its phase.
    expired = ATTEMPT.lock_all(
        Attempt.objects.select_related("phase").filter(
            run=run, status=AttemptStatus.LEASED, lease_expires_at__lte=now
        )
    )
    for attempt in expired:
        locked_with(attempt.phase)
        attempt_lease_expire_locked(run=run, attempt=attempt, now=now)
    return len(expired)


def leases_expire(*, now: datetime | None = None) -> int:
    """The scheduled sweep: every run with an expired lease, one run lock at a time."""
    now = now or timezone.now()
    run_ids = (
        Attempt.objects.filter(status=AttemptStatus.LEASED, lease_expires_at__lte=now)
        .values_list("run_id", flat=True)
        .distinct()
    )
    total = 0
    for run_id in sorted(set(run_ids)):
        with transaction.atomic():
            run = RUN.lock(run_id)
            total += _expire_leases_locked(run=run, now=now)
    return total


def attempt_lease_expire_locked(*, run: Run, attempt: Attempt, now: datetime) -> None:
    """One attempt's lease ran out (the caller holds the run's lock, which every change to the
    run's attempts and phases takes first)."""
    ATTEMPT.move(
        attempt,
        AttemptStatus.ABANDONED,
        actor=LEASE_SWEEPER,
        reason="lease expired",
        error_type="lease_expired",
    )
    phase_attempt_ended(run=run, phase=attempt.phase, succeeded=False, actor=LEASE_SWEEPER)
