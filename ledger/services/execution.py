"""Exactly-once execution. The worker claims an approved action by compare-and-set with a lease,
re-verifies the payload hash and the approval, checks the credential, takes a rate-limit slot,
calls the provider outside any transaction, and records what happened. Only failures that
cannot have reached the provider (or that the provider deduplicates) are retried; a call that may
have happened makes the action `unknown`, resolved by a lookup or by an operator."""

import logging
import os
import random
import socket
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from approvals.services import approval_consume
from autopack_site.actors import SYSTEM
from autopack_site.canonical import sha256_of
from autopack_site.errors import DomainError
from autopack_site.redaction import redact, scrub
from ledger.conf import ledger_settings
from ledger.guards import verdict_at_execution
from ledger.models import (
    HELD_BY_CREDENTIAL,
    HELD_BY_GUARD,
    ActionMode,
    ActionStatus,
    ExternalAction,
)
from ledger.providers.base import OutcomeUnknown, ProviderContext, ProviderError
from ledger.providers.registry import default_base_url, get_adapter
from ledger.services.common import approved_payload, locked_action
from ledger.services.credentials import CredentialProblem, credential_check
from ledger.services.queueing import schedule_execution, schedule_reconcile
from ledger.services.ratelimit import rate_limit_take
from ledger.transitions import ACTION

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"worker:{socket.gethostname()}:{os.getpid()}"


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 1, 2, 4 ... 60 seconds."""
    # retry jitter spreads retries and guards nothing:
    return random.uniform(0.5, min(60.0, 2.0 ** max(0, attempt - 1)))  # nosec B311


def action_claim(action_id: int, worker: str, *, mode: str = ActionMode.PLATFORM) -> bool:
    """Compare-and-set approved → executing with a lease; False if it is not (or not yet) due
    or someone else claimed it first."""
    settings = ledger_settings()
    now = timezone.now()
    return ACTION.move_if(
        ExternalAction(pk=action_id),
        ActionStatus.APPROVED,
        ActionStatus.EXECUTING,
        actor=worker,
        detail={"lease_seconds": settings.lease_seconds},
        where=Q(mode=mode) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)),
        lease_expires_at=now + timedelta(seconds=settings.lease_seconds),
        claimed_by=worker[:200],
        attempts=F("attempts") + 1,
    )


def _record_outcome(action_id: int, worker: str, to_status: str, *, detail: dict, **fields) -> bool:
    """Records an outcome if this worker still holds the action. A definite result that
    arrives after the lease expired still lands (unknown → succeeded/failed)."""
    with transaction.atomic():
        action = locked_action(action_id)
        ours = action.status == ActionStatus.EXECUTING and action.claimed_by == worker
        late_but_definite = action.status == ActionStatus.UNKNOWN and to_status in (
            ActionStatus.SUCCEEDED,
            ActionStatus.FAILED,
        )
        if not (ours or late_but_definite):
            logger.warning(
                "outcome not recorded: action moved on",
                extra={"action": action_id, "status": action.status, "wanted": to_status},
            )
            return False
        ACTION.move(action, to_status, actor=worker, detail=detail, **fields)
        if to_status == ActionStatus.UNKNOWN:
            schedule_reconcile(action.pk)
        return True


class GuardHold(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _check_guards(action: ExternalAction) -> None:
    """What other apps registered in front of this action (ledger/guards.py)."""
    verdict = verdict_at_execution(action)
    if verdict.refuse:
        raise ExecutionRefused(ActionStatus.FAILED, *verdict.refuse)
    if verdict.hold:
        raise GuardHold(*verdict.hold)


class ExecutionRefused(Exception):
    def __init__(self, status: str, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def action_verify(action: ExternalAction, worker: str) -> None:
    """Payload hash, then the approval: checked and consumed in one locked step. Raises
    ExecutionRefused."""
    if sha256_of(approved_payload(action)) != action.payload_hash:
        raise ExecutionRefused(
            ActionStatus.FAILED,
            "payload_tampered",
            "The payload no longer matches the hash that was decided and approved.",
        )
    if action.approval_id:
        try:
            approval_consume(
                request_id=action.approval_id,
                target_id=action.pk,
                payload_hash=action.payload_hash,
                actor=worker,
            )
        except DomainError as refusal:
            status = (
                ActionStatus.EXPIRED if refusal.code == "approval_expired" else ActionStatus.FAILED
            )
            raise ExecutionRefused(status, refusal.code, refusal.message) from None


def _context(action: ExternalAction, secret: str) -> ProviderContext:
    settings = ledger_settings()
    return ProviderContext(
        base_url=settings.base_url(action.provider) or default_base_url(action.provider),
        secret=secret,
        timeout=float(settings.call_timeout_seconds),
    )


def action_execute(action_id: int, *, worker: str | None = None) -> str:
    """The worker's task. Returns the status it left the action in (or "not_claimed")."""
    worker = worker or worker_name()
    settings = ledger_settings()
    while True:
        if not action_claim(action_id, worker):
            return "not_claimed"
        action = ExternalAction.objects.get(pk=action_id)
        try:
            _check_guards(action)
            _credential, secret = credential_check(action)
            action_verify(action, worker)  # last: consumes the approval
        except ExecutionRefused as refused:
            _record_outcome(
                action_id,
                worker,
                refused.status,
                detail={"code": refused.code},
                error=refused.message,
            )
            return refused.status
        except CredentialProblem as problem:
            _record_outcome(
                action_id,
                worker,
                ActionStatus.HELD,
                detail={"code": problem.code},
                error=problem.message,
                held_by=HELD_BY_CREDENTIAL,
            )
            return ActionStatus.HELD
        except GuardHold as held:
            _record_outcome(
                action_id,
                worker,
                ActionStatus.HELD,
                detail={"code": held.code},
                error=f"{held.code}: {held.message}"[:1000],
                held_by=HELD_BY_GUARD,
            )
            return ActionStatus.HELD
        wait = rate_limit_take(project_id=action.project_id, provider=action.provider)
        if wait:
            _record_outcome(
                action_id,
                worker,
                ActionStatus.APPROVED,
                detail={"code": "rate_limited_locally", "wait": round(wait, 2)},
                next_attempt_at=timezone.now() + timedelta(seconds=wait),
                attempts=F("attempts") - 1,
            )
            if wait > settings.inline_retry_max_seconds:
                return ActionStatus.APPROVED
            time.sleep(wait)
            continue
        outcome = _call(action, secret, worker, settings)
        if outcome is not None:
            return outcome
        # None: a safe retry was recorded and is due soon enough to wait for here.


def _call(action: ExternalAction, secret: str, worker: str, settings) -> str | None:
    adapter = get_adapter(action.provider)
    payload = adapter.validate(action.action, action.payload)
    started = time.monotonic()
    try:
        result = adapter.execute(
            action.action, payload, reference=action.reference, ctx=_context(action, secret)
        )
    except OutcomeUnknown as exc:
        _record_outcome(
            action.pk,
            worker,
            ActionStatus.UNKNOWN,
            detail={"code": "outcome_unknown", "error": _safe(exc, secret)},
            error=_safe(exc, secret),
        )
        return ActionStatus.UNKNOWN
    except ProviderError as exc:
        message = _safe(exc, secret)
        if exc.retry_safe and action.attempts < settings.max_attempts:
            delay = (
                exc.retry_after if exc.retry_after is not None else backoff_seconds(action.attempts)
            )
            _record_outcome(
                action.pk,
                worker,
                ActionStatus.APPROVED,
                detail={"code": exc.code, "retry_in": round(delay, 2), "error": message},
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                error=message,
            )
            if delay > settings.inline_retry_max_seconds:
                return ActionStatus.APPROVED
            time.sleep(delay)
            return None
        if adapter.dedupes_by_reference and exc.sent:
            # A refusal from a provider that deduplicates may mean "you already did this"
            # (e.g. Alpaca's duplicate client_order_id): ask before calling it failed.
            _record_outcome(
                action.pk,
                worker,
                ActionStatus.UNKNOWN,
                detail={"code": exc.code, "error": message, "check": "lookup"},
                error=message,
            )
            return ActionStatus.UNKNOWN
        _record_outcome(
            action.pk,
            worker,
            ActionStatus.FAILED,
            detail={"code": exc.code, "error": message},
            error=message,
        )
        return ActionStatus.FAILED
    except Exception as exc:  # an adapter bug after the request may have left: never retry
        logger.exception("adapter raised", extra={"action": action.pk})
        _record_outcome(
            action.pk,
            worker,
            ActionStatus.UNKNOWN,
            detail={"code": "adapter_error", "error": _safe(exc, secret)},
            error=_safe(exc, secret),
        )
        return ActionStatus.UNKNOWN
    _record_outcome(
        action.pk,
        worker,
        ActionStatus.SUCCEEDED,
        detail={
            "provider_reference": result.provider_reference,
            "ms": round((time.monotonic() - started) * 1000),
        },
        provider_reference=result.provider_reference[:255],
        response_summary=redact(result.summary),
        error="",
    )
    return ActionStatus.SUCCEEDED


def _safe(exc: BaseException, secret: str) -> str:
    return scrub(f"{type(exc).__name__}: {exc}", secrets=(secret,))[:1000]


def actions_sweep_leases(*, now=None) -> int:
    """An expired lease means the call may have happened: the action becomes `unknown`
    (never back to a retry) and the reconciler asks the provider."""
    now = now or timezone.now()
    expired = ExternalAction.objects.filter(
        status=ActionStatus.EXECUTING, lease_expires_at__lt=now
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(expired[:200]):
        with transaction.atomic():
            action = locked_action(pk)
            if action.status != ActionStatus.EXECUTING or action.lease_expires_at >= now:
                continue
            ACTION.move(
                action,
                ActionStatus.UNKNOWN,
                actor=SYSTEM,
                reason="lease expired",
                detail={"code": "lease_expired", "claimed_by": action.claimed_by},
            )
            schedule_reconcile(pk)
            count += 1
    return count


def actions_dispatch_due(*, now=None) -> dict[str, int]:
    """The schedule's sweep: leases, due retries, unknown outcomes."""
    now = now or timezone.now()
    swept = actions_sweep_leases(now=now)
    due = list(
        ExternalAction.objects.filter(
            status=ActionStatus.APPROVED, mode=ActionMode.PLATFORM, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[:100]
    )
    unknown = list(
        ExternalAction.objects.filter(status=ActionStatus.UNKNOWN).values_list("pk", flat=True)[
            :100
        ]
    )
    with transaction.atomic():  # through the outbox too: the same path whatever the broker
        for pk in due:
            schedule_execution(pk)
        for pk in unknown:
            schedule_reconcile(pk)
    return {"swept": swept, "due": len(due), "unknown": len(unknown)}
