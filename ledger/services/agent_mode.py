"""Mode agent: the agent performs the call itself, after claiming the action here (same
single-claim, guards, hash and approval rules as the worker)."""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from autopack_site.errors import Conflict, Unprocessable
from autopack_site.models import AgentKey
from autopack_site.redaction import redact
from ledger.conf import ledger_settings
from ledger.models import HELD_BY_GUARD, ActionMode, ActionStatus, ExternalAction
from ledger.services.common import locked_action
from ledger.services.execution import (
    ExecutionRefused,
    GuardHold,
    action_claim,
    action_verify,
    check_guards,
)
from ledger.transitions import ACTION


def action_agent_claim(*, action: ExternalAction, key: AgentKey) -> ExternalAction:
    if action.mode != ActionMode.AGENT:
        raise Conflict("This action runs on the platform, not in the agent.", code="wrong_mode")
    actor = key.actor_label
    if not action_claim(action.pk, actor, mode=ActionMode.AGENT):
        action.refresh_from_db()
        raise Conflict(
            f"Action #{action.pk} is {action.status}; it cannot be claimed.",
            code="not_claimable",
            details={"status": action.status},
        )
    action.refresh_from_db()
    try:
        check_guards(action)  # what other apps put in front of it, as for the worker
        action_verify(action, actor)
    except GuardHold as held:
        with transaction.atomic():
            ACTION.move(
                locked_action(action.pk),
                ActionStatus.HELD,
                actor=actor,
                detail={"code": held.code},
                error=f"{held.code}: {held.message}"[:1000],
                held_by=HELD_BY_GUARD,
            )
        raise Conflict(held.message, code=held.code, details={"status": "held"}) from None
    except ExecutionRefused as refused:
        with transaction.atomic():
            locked = locked_action(action.pk)
            ACTION.move(
                locked,
                refused.status,
                actor=actor,
                detail={"code": refused.code},
                error=refused.message,
            )
        raise Conflict(refused.message, code=refused.code) from None
    return action


def action_agent_result(
    *,
    action: ExternalAction,
    key: AgentKey,
    outcome: str,
    payload_hash: str,
    provider_reference: str = "",
    summary: dict[str, Any] | None = None,
    error: str = "",
) -> ExternalAction:
    actor = key.actor_label
    to_status = {
        "succeeded": ActionStatus.SUCCEEDED,
        "failed": ActionStatus.FAILED,
        "unknown": ActionStatus.UNKNOWN,
    }.get(outcome)
    if to_status is None:
        raise Unprocessable("outcome must be succeeded, failed or unknown.")
    with transaction.atomic():
        locked = locked_action(action.pk)
        if locked.status != ActionStatus.EXECUTING or locked.claimed_by != actor:
            raise Conflict(
                "You do not hold this action's claim (or its lease expired).",
                code="lease_lost",
                details={"status": locked.status},
            )
        if payload_hash != locked.payload_hash:
            raise Conflict(
                "The result is for another payload.",
                code="payload_mismatch",
                details={"payload_hash": locked.payload_hash},
            )
        ACTION.move(
            locked,
            to_status,
            actor=actor,
            detail={"outcome": outcome},
            provider_reference=provider_reference[:255],
            response_summary=redact(summary or {}),
            error=redact(error)[:1000],
        )
    return locked


def agent_lease_until() -> Any:
    return timezone.now() + timedelta(seconds=ledger_settings().lease_seconds)
