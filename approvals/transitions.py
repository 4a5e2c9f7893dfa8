"""The approval request's state machine. Anything not listed is refused."""

from approvals.models import (
    ApprovalEvent,
    ApprovalRequest,
    NotificationDelivery,
    NotificationEvent,
    NotificationStatus,
)
from approvals.models import ApprovalStatus as S
from autopack_site.state_machine import StateMachine

APPROVAL = StateMachine(
    model=ApprovalRequest,
    label="approval request",
    transitions={
        S.PENDING: {S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED, S.SUPERSEDED},
        S.APPROVED: {S.CONSUMED, S.EXPIRED, S.CANCELLED},
        S.REJECTED: (),
        S.EXPIRED: (),
        S.CANCELLED: (),
        S.SUPERSEDED: (),
        S.CONSUMED: (),
    },
    initial={S.PENDING},
    event_model=ApprovalEvent,
    event_owner=lambda request: {"request_id": request.pk},
    topic=lambda request: f"approval:{request.pk}",
)

# Events that notify the outside world (webhook to the agent; operators on "created").
NOTIFY_EVENTS: dict[str, str] = {
    S.APPROVED: "approved",
    S.REJECTED: "rejected",
    S.EXPIRED: "expired",
    S.CANCELLED: "cancelled",
    S.SUPERSEDED: "superseded",
    S.CONSUMED: "consumed",
}

# Outcomes the kind's consumer hears of (approvals/consumers.py); "consumed" is its own doing.
CONSUMER_STATUSES = frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED, S.SUPERSEDED})

# One notification on one channel: retried while pending, then sent or given up.
DELIVERY = StateMachine(
    model=NotificationDelivery,
    label="notification",
    transitions={
        NotificationStatus.PENDING: {NotificationStatus.SENT, NotificationStatus.FAILED},
        NotificationStatus.SENT: (),
        NotificationStatus.FAILED: (),
    },
    initial={NotificationStatus.PENDING},
    event_model=NotificationEvent,
    event_owner=lambda delivery: {"delivery_id": delivery.pk},
)
