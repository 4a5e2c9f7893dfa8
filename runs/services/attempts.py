"""What a claimer does with its attempt: heartbeat, checkpoint, complete."""

from dataclasses import dataclass
from typing import Any, Literal

from django.db import transaction
from django.utils import timezone

from autopack_site.actors import actor_of_key
from autopack_site.models import AgentKey
from autopack_site.redaction import redact, redact_text
from autopack_site.state_machine import locked_with
from runs.exceptions import LeaseLost
from runs.models import Attempt, AttemptStatus, Run
from runs.services.claims import attempt_lease_expire_locked, lease_duration
from runs.services.phases import phase_attempt_ended
from runs.transitions import ATTEMPT, RUN

Outcome = Literal["succeeded", "failed"]


@dataclass(frozen=True)
class CompletionResult:
    attempt: Attempt
    replayed: bool


def _lock_attempt(attempt: Attempt) -> tuple[Run, Attempt]:
    """Locks in the fixed order run → attempt (with its phase), the order claims and sweeps
    use."""
    run = RUN.lock(attempt.run_id)
    locked = ATTEMPT.lock(attempt.pk, queryset=Attempt.objects.select_related("phase"))
    locked_with(locked.phase)
    return run, locked


def _lease_lost(attempt: Attempt) -> LeaseLost:
    return LeaseLost(
        "This attempt no longer holds its lease; claim the phase again.",
        details={
            "attempt_status": attempt.status,
            "lease_expires_at": attempt.lease_expires_at.isoformat(),
        },
    )


def _require_live_lease(run: Run, attempt: Attempt) -> LeaseLost | None:
    """None when the lease is live; otherwise ends an expired lease and returns the refusal."""
    if attempt.status != AttemptStatus.LEASED:
        return _lease_lost(attempt)
    now = timezone.now()
    if attempt.lease_expires_at <= now:
        attempt_lease_expire_locked(run=run, attempt=attempt, now=now)
        return _lease_lost(attempt)
    return None


def attempt_complete(
    *,
    attempt: Attempt,
    outcome: Outcome,
    error_type: str = "",
    error_message: str = "",
    checkpoint: dict[str, Any] | None = None,
    completed_by_key: AgentKey | None = None,
) -> CompletionResult:
    """Ends a leased attempt. The same outcome again is a harmless replay; a lost lease is 409."""
    with transaction.atomic():
        run, locked = _lock_attempt(attempt)
        if locked.status == outcome:
            return CompletionResult(locked, replayed=True)
        refusal = _require_live_lease(run, locked)
        if refusal is None:
            failed = outcome == AttemptStatus.FAILED
            actor = actor_of_key(completed_by_key)
            ATTEMPT.move(
                locked,
                outcome,
                actor=actor,
                reason=f"{outcome}: {error_type}" if failed else outcome,
                error_type=error_type[:100] if failed else "",
                error_message=redact_text(error_message) if failed else "",
                **({"checkpoint": redact(checkpoint)} if checkpoint is not None else {}),
            )
            phase_attempt_ended(
                run=run,
                phase=locked.phase,
                succeeded=outcome == AttemptStatus.SUCCEEDED,
                actor=actor,
            )
    # Raised after the atomic block so an expiry noticed here is committed, not rolled back.
    if refusal is not None:
        raise refusal
    return CompletionResult(locked, replayed=False)


def attempt_heartbeat(*, attempt: Attempt, lease_seconds: int | None = None) -> Attempt:
    lease = lease_duration(lease_seconds)
    with transaction.atomic():
        run, locked = _lock_attempt(attempt)
        refusal = _require_live_lease(run, locked)
        if refusal is None:
            now = timezone.now()
            locked.lease_expires_at = now + lease
            locked.heartbeat_at = now
            locked.save(update_fields=["lease_expires_at", "heartbeat_at"])
    if refusal is not None:
        raise refusal
    return locked


def attempt_checkpoint(*, attempt: Attempt, checkpoint: dict[str, Any]) -> Attempt:
    """Stores where the work got to; the next attempt at this phase is handed it on claim."""
    with transaction.atomic():
        run, locked = _lock_attempt(attempt)
        refusal = _require_live_lease(run, locked)
        if refusal is None:
            locked.checkpoint = redact(checkpoint)  # secrets never reach the database
            locked.heartbeat_at = timezone.now()
            locked.save(update_fields=["checkpoint", "heartbeat_at"])
    if refusal is not None:
        raise refusal
    return locked
