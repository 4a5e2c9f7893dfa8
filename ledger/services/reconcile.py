"""Unknown outcomes: ask the provider by our reference; if it cannot tell, an operator decides.
Operators also release held actions and record outcomes, always with a reason."""

import logging
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from autopack_site.actors import SYSTEM, actor_of_user
from autopack_site.errors import Conflict, Forbidden, Unprocessable
from autopack_site.redaction import redact
from autopack_site.roles import Capability, role_allows
from ledger.conf import ledger_settings
from ledger.guards import verdict_at_execution
from ledger.models import HELD_BY_GUARD, ActionMode, ActionStatus, ExternalAction
from ledger.providers.base import ProviderError
from ledger.providers.registry import get_adapter
from ledger.services.common import action_requeue_held, locked_action
from ledger.services.credentials import CredentialProblem, credential_check
from ledger.services.execution import _context, _safe
from ledger.services.queueing import schedule_execution
from ledger.transitions import ACTION

logger = logging.getLogger(__name__)


def action_reconcile(action_id: int) -> str:
    action = ExternalAction.objects.get(pk=action_id)
    if action.status != ActionStatus.UNKNOWN:
        return action.status
    try:
        _credential, secret = credential_check(action)
        adapter = get_adapter(action.provider)
        payload = adapter.validate(action.action, action.payload)
        found = adapter.lookup(
            action.action, payload, reference=action.reference, ctx=_context(action, secret)
        )
    except CredentialProblem as problem:
        return _needs_human(action_id, f"cannot look it up: {problem.message}")
    except ProviderError as exc:
        logger.warning("lookup failed; will retry", extra={"action": action_id})
        return _stay_unknown(action_id, exc)
    with transaction.atomic():
        locked = locked_action(action_id)
        if locked.status != ActionStatus.UNKNOWN:
            return locked.status
        if found.state == "found":
            ACTION.move(
                locked,
                ActionStatus.SUCCEEDED,
                actor="reconciler",
                detail={"lookup": "found", "provider_reference": found.provider_reference},
                provider_reference=found.provider_reference[:255],
                response_summary=redact(found.summary),
                error="",
            )
            return ActionStatus.SUCCEEDED
        if found.state == "absent" and not _settled(locked):
            return ActionStatus.UNKNOWN  # a call still in flight could land; ask again later
        if found.state == "absent" and locked.attempts < ledger_settings().max_attempts:
            ACTION.move(
                locked,
                ActionStatus.APPROVED,
                actor="reconciler",
                detail={"lookup": "absent", "retry": True},
                next_attempt_at=timezone.now(),
            )
            if locked.mode == ActionMode.PLATFORM:
                schedule_execution(locked.pk)
            return ActionStatus.APPROVED
    why = "the provider cannot tell" if found.state == "unknown" else "no attempts left"
    return _needs_human(action_id, why)


def _settled(action: ExternalAction) -> bool:
    """An "absent" answer is trusted only once the last call could no longer land: the call
    timeout plus a grace period after the last claim."""
    settings = ledger_settings()
    last_claim = (
        action.events.filter(to_status=ActionStatus.EXECUTING)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last_claim is None:
        return True
    settle = timedelta(seconds=settings.call_timeout_seconds + settings.reconcile_grace_seconds)
    return timezone.now() >= last_claim + settle


def _stay_unknown(action_id: int, exc: ProviderError) -> str:
    logger.warning("lookup error", extra={"action": action_id, "error": _safe(exc, "")})
    return ActionStatus.UNKNOWN


def _needs_human(action_id: int, why: str) -> str:
    with transaction.atomic():
        locked = locked_action(action_id)
        if locked.status != ActionStatus.UNKNOWN:
            return locked.status
        ACTION.move(
            locked,
            ActionStatus.NEEDS_RECONCILIATION,
            actor="reconciler",
            detail={"reason": why},
            error=f"Needs reconciliation: {why}"[:1000],
        )
    return ActionStatus.NEEDS_RECONCILIATION


def _operator(user: AbstractBaseUser, action: ExternalAction, reason: str) -> str:
    if not role_allows(user, action.project_id, Capability.OPERATE_ACTIONS):
        raise Forbidden("Only an operator of this project can do that.", code="not_an_operator")
    if not reason.strip():
        raise Unprocessable("Give a reason; it is kept in the ledger.", code="reason_required")
    return actor_of_user(user)


def action_record_outcome(
    *,
    action_id: int,
    user: AbstractBaseUser,
    succeeded: bool,
    reason: str,
    provider_reference: str = "",
) -> ExternalAction:
    """An operator says what happened at the provider (unknown / needs reconciliation)."""
    with transaction.atomic():
        action = locked_action(action_id)
        actor = _operator(user, action, reason)
        to_status = ActionStatus.SUCCEEDED if succeeded else ActionStatus.FAILED
        ACTION.move(
            action,
            to_status,
            actor=actor,
            detail={"reason": reason, "provider_reference": provider_reference},
            provider_reference=provider_reference[:255] or action.provider_reference,
            error="" if succeeded else f"Recorded as failed by {actor}: {reason}"[:1000],
        )
    return action


def action_authorise_retry(
    *, action_id: int, user: AbstractBaseUser, reason: str
) -> ExternalAction:
    """An operator who checked the provider authorises one more attempt."""
    with transaction.atomic():
        action = locked_action(action_id)
        actor = _operator(user, action, reason)
        if action.status != ActionStatus.NEEDS_RECONCILIATION:
            raise Unprocessable(
                "Only an action that needs reconciliation can be retried.", code="not_reconcilable"
            )
        ACTION.move(
            action,
            ActionStatus.APPROVED,
            actor=actor,
            detail={"reason": reason, "retry": True},
            next_attempt_at=timezone.now(),
        )
        if action.mode == ActionMode.PLATFORM:
            schedule_execution(action.pk)
    return action


def action_release(*, action_id: int, user: AbstractBaseUser, reason: str) -> ExternalAction:
    """A held action goes back to the queue (after the credential was fixed), or asks for a
    fresh approval when its approval can no longer be used."""
    with transaction.atomic():
        action = locked_action(action_id)
        actor = _operator(user, action, reason)
        if action.status != ActionStatus.HELD:
            raise Conflict(
                f"Action #{action.pk} is {action.status}; only a held action can be released.",
                code="not_held",
            )
        action_requeue_held(action, actor=actor, reason=reason)
    return action


def actions_release_guarded(*, limit: int = 200) -> int:
    """The schedule's look at actions a guard holds: those no guard holds any more go back to
    the queue by themselves; those a guard now refuses fail with its reason."""
    released = 0
    held = ExternalAction.objects.filter(
        status=ActionStatus.HELD, held_by=HELD_BY_GUARD
    ).values_list("pk", flat=True)
    for pk in list(held[:limit]):
        with transaction.atomic():
            action = locked_action(pk)
            if action.status != ActionStatus.HELD or action.held_by != HELD_BY_GUARD:
                continue
            verdict = verdict_at_execution(action)
            if verdict.refuse:
                code, message = verdict.refuse
                ACTION.move(
                    action,
                    ActionStatus.CANCELLED,
                    actor=SYSTEM,
                    reason=message,
                    detail={"code": code},
                    error=f"{code}: {message}"[:1000],
                )
            elif not verdict.hold:
                action_requeue_held(action, actor=SYSTEM, reason="no guard holds it any more")
                released += 1
    return released


def actions_hold_for_guard(actions, *, code: str, message: str) -> int:
    """Holds queued actions for a guard (e.g. trading's kill switch), in the caller's
    transaction; ``actions_release_guarded`` lets them go when no guard holds them any more."""
    held = ACTION.move_all(
        actions.filter(status=ActionStatus.APPROVED),
        ActionStatus.HELD,
        actor=SYSTEM,
        reason=message,
        detail={"code": code},
        held_by=HELD_BY_GUARD,
        error=f"{code}: {message}"[:1000],
    )
    return len(held)


def action_cancel(*, action_id: int, user: AbstractBaseUser, reason: str) -> ExternalAction:
    with transaction.atomic():
        action = locked_action(action_id)
        actor = _operator(user, action, reason)
        ACTION.move(action, ActionStatus.CANCELLED, actor=actor, detail={"reason": reason})
    return action


def actions_cancel_for_revoked_key(key, reason: str) -> int:
    """Inside the revoking transaction: the key's actions that have not reached a provider
    (waiting for approval, queued, held) are cancelled, each with its event."""
    waiting = ACTION.move_all(
        ExternalAction.objects.filter(
            requested_by_key=key,
            status__in=[ActionStatus.PENDING_APPROVAL, ActionStatus.APPROVED, ActionStatus.HELD],
        ),
        ActionStatus.CANCELLED,
        actor=SYSTEM,
        reason=reason,
        detail={"code": "agent_key_revoked"},
    )
    return len(waiting)
