"""Small pieces every ledger service uses."""

from typing import Any

from django.utils import timezone

from approvals.models import ApprovalKind
from approvals.selectors import approval_usable_by
from approvals.services import approval_request_for_decision
from autopack_site.errors import NotFound
from ledger.models import ActionMode, ActionStatus, ExternalAction
from ledger.services.queueing import schedule_execution
from ledger.transitions import ACTION


def approved_payload(action: ExternalAction) -> dict[str, Any]:
    """What an approval binds to: provider, action and payload (hash = action.payload_hash)."""
    return {"provider": action.provider, "action": action.action, "payload": action.payload}


def locked_action(action_id: int) -> ExternalAction:
    """The action under its row lock, for ACTION.move (which then locks nothing more)."""
    try:
        return ACTION.lock(action_id)
    except ExternalAction.DoesNotExist:
        raise NotFound(f"No action #{action_id}.") from None


def action_ask_for_approval(action: ExternalAction) -> None:
    """Opens the approval request for ``action`` (which names it back), inside the caller's
    transaction."""
    action.approval = approval_request_for_decision(
        project=action.project,
        kind=ApprovalKind.ACTION,
        subject=f"action:{action.pk}",
        target_id=action.pk,
        title=f"{action.provider} {action.action}",
        payload=approved_payload(action),
        decision=action.decision,
        explanation={
            "rendered_request": action.rendered_request,
            "side_effects": action.side_effects,
        },
        requested_by_key=action.requested_by_key,
        callback_url=action.callback_url,
    )
    action.save(update_fields=["approval"])


def action_requeue_held(action: ExternalAction, *, actor: str, reason: str) -> None:
    """A held action (locked by the caller) goes back to the queue, unless its approval can no
    longer be used (the validity window passed while it was held): then it waits for a fresh
    approval of the same payload."""
    if action.approval_id and not approval_usable_by(
        request_id=action.approval_id, target_id=action.pk, payload_hash=action.payload_hash
    ):
        ACTION.move(
            action,
            ActionStatus.PENDING_APPROVAL,
            actor=actor,
            reason=f"{reason}; its approval can no longer be used, so a fresh one is asked for",
            error="",
        )
        action_ask_for_approval(action)
        return
    ACTION.move(
        action,
        ActionStatus.APPROVED,
        actor=actor,
        reason=reason,
        next_attempt_at=timezone.now(),
        error="",
    )
    if action.mode == ActionMode.PLATFORM:
        schedule_execution(action.pk)
