"""The ledger as the approval consumer for kind "action" (registered in ledger/apps.py): an
approval's outcome moves the action it names (ApprovalRequest.target_id)."""

from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.consumers import ApprovalNews
from approvals.models import ApprovalStatus
from ledger.models import ActionMode, ActionStatus, ExternalAction
from ledger.services.common import locked_action
from ledger.services.queueing import schedule_execution
from ledger.transitions import ACTION

_PENDING_TO: dict[str, str] = {
    ApprovalStatus.APPROVED: ActionStatus.APPROVED,
    ApprovalStatus.REJECTED: ActionStatus.REJECTED,
    ApprovalStatus.EXPIRED: ActionStatus.EXPIRED,
    ApprovalStatus.CANCELLED: ActionStatus.CANCELLED,
    ApprovalStatus.SUPERSEDED: ActionStatus.CANCELLED,
}


def action_follow_approval(news: ApprovalNews) -> None:
    """Idempotent: the action must still wait on this very request."""
    if news.target_id is None:
        return
    with transaction.atomic():
        action = locked_action(news.target_id)
        if action.approval_id != news.request_id:
            return
        actor = f"approval:{news.request_id}"
        if action.status == ActionStatus.PENDING_APPROVAL and news.status in _PENDING_TO:
            to_status = _PENDING_TO[news.status]
            extra: dict[str, Any] = (
                {"next_attempt_at": timezone.now()} if to_status == ActionStatus.APPROVED else {}
            )
            ACTION.move(action, to_status, actor=actor, detail={"approval": news.status}, **extra)
            if to_status == ActionStatus.APPROVED and action.mode == ActionMode.PLATFORM:
                schedule_execution(action.pk)
        elif action.status == ActionStatus.APPROVED and news.status == ApprovalStatus.EXPIRED:
            ACTION.move(
                action,
                ActionStatus.EXPIRED,
                actor=actor,
                reason="the approval's validity window passed before execution",
                detail={"approval": news.status},
            )


def actions_waiting_on_decided_approvals(limit: int) -> Iterator[ApprovalNews]:
    """What a lost after-commit call left behind: actions still pending on a request that was
    decided (or ended), and queued actions whose approval expired unused."""
    pending = ExternalAction.objects.filter(
        status=ActionStatus.PENDING_APPROVAL, approval__status__in=list(_PENDING_TO)
    )
    expired = ExternalAction.objects.filter(
        status=ActionStatus.APPROVED, approval__status=ApprovalStatus.EXPIRED
    )
    for rows in (pending, expired):
        for action_id, request_id, status in rows.values_list(
            "pk", "approval_id", "approval__status"
        )[:limit]:
            yield ApprovalNews(
                request_id=request_id, kind="action", target_id=action_id, status=status
            )
