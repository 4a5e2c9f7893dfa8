"""django-q2 entry points for approvals."""

from approvals.consumers import approvals_redeliver_lost
from approvals.notifications import notification_send, notifications_due
from approvals.services import approvals_expire


def notification_deliver(delivery_id: int) -> str:
    return notification_send(delivery_id)


def notifications_retry_due() -> int:
    due = notifications_due()
    for delivery_id in due:
        notification_send(delivery_id)
    return len(due)


def approvals_expire_due() -> int:
    return approvals_expire()


def approvals_redeliver() -> int:
    """What a crash between a decision's commit and its consumer's handler left undelivered."""
    return approvals_redeliver_lost()


def approval_review(request_id: int) -> str:
    """Advice only: a review never changes a request (approvals/reviewer.py)."""
    from approvals.reviewer import approval_review_run

    return approval_review_run(request_id)
