"""The ledger follows its approval requests (approvals.signals, sent after commit)."""

from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalStatus
from ledger.models import ActionMode, ActionStatus
from ledger.services.common import locked_action
from ledger.services.common import move as action_move
from ledger.services.execution import schedule_execution

_PENDING_TO = {
    ApprovalStatus.APPROVED: ActionStatus.APPROVED,
    ApprovalStatus.REJECTED: ActionStatus.REJECTED,
    ApprovalStatus.EXPIRED: ActionStatus.EXPIRED,
    ApprovalStatus.CANCELLED: ActionStatus.CANCELLED,
    ApprovalStatus.SUPERSEDED: ActionStatus.CANCELLED,
}


def action_follow_approval(*, request_id: int, kind: str, target_ref: str, status: str) -> None:
    if kind != "action" or not target_ref.startswith("action:"):
        return
    action_id = int(target_ref.split(":", 1)[1])
    with transaction.atomic():
        action = locked_action(action_id)
        if action.approval_id != request_id:
            return
        actor = f"approval:{request_id}"
        if action.status == ActionStatus.PENDING_APPROVAL and status in _PENDING_TO:
            to_status = _PENDING_TO[status]
            extra = (
                {"next_attempt_at": timezone.now()} if to_status == ActionStatus.APPROVED else {}
            )
            action_move(action, to_status, actor=actor, detail={"approval": status}, **extra)
            if to_status == ActionStatus.APPROVED and action.mode == ActionMode.PLATFORM:
                schedule_execution(action.pk)
        elif action.status == ActionStatus.APPROVED and status == ApprovalStatus.EXPIRED:
            action_move(
                action,
                ActionStatus.EXPIRED,
                actor=actor,
                detail={"approval": "validity window passed before execution"},
            )


def on_approval_status_changed(sender, **changed) -> None:
    action_follow_approval(**changed)
