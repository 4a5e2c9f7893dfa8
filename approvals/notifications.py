"""Notifications about approval requests: e-mail and Telegram to operators when a request is
created, and webhooks to the agent's callback URL on every status change, signed with the
project's signing secret (autopack_site/signing.py) and sent through the pinned outbound client.

Services call ``notifications_enqueue`` inside their transaction: it records one
NotificationDelivery per channel and queues the sending task after commit, so a rolled-back
decision notifies nobody and no network call ever happens inside a transaction. Failures are
recorded (redacted) and retried with backoff by the worker; they never block a decision."""

import logging
import random
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from approvals.models import (
    ApprovalRequest,
    NotificationChannel,
    NotificationDelivery,
    NotificationStatus,
)
from approvals.transitions import DELIVERY
from autopack_site.actors import SYSTEM
from autopack_site.canonical import canonical_json
from autopack_site.models import ProjectMembership
from autopack_site.outbound import RefusedTarget, outbound_client
from autopack_site.outbox import outbox_send
from autopack_site.redaction import scrub
from autopack_site.roles import Capability, roles_with
from autopack_site.selectors import signing_secret_current
from autopack_site.signing import HEADER, sign

logger = logging.getLogger(__name__)

OPERATOR_EVENTS = {"created"}
CLAIM = timedelta(minutes=5)
_transport: httpx.BaseTransport | None = None  # tests inject httpx.MockTransport here


class SigningSecretMissing(RuntimeError):
    """The project has no signing secret yet: retried, since an owner can make one."""


def admin_link(request: ApprovalRequest) -> str:
    base = settings.AUTOPACK_BASE_URL.rstrip("/")
    return f"{base}/admin/approvals/approvalrequest/{request.pk}/change/"


def _channels(request: ApprovalRequest, event: str) -> list[str]:
    channels = []
    if event in OPERATOR_EVENTS:
        channels.append(NotificationChannel.EMAIL)
        if settings.AUTOPACK_TELEGRAM_BOT_TOKEN and settings.AUTOPACK_TELEGRAM_CHAT_ID:
            channels.append(NotificationChannel.TELEGRAM)
    if request.callback_url:
        channels.append(NotificationChannel.WEBHOOK)
    return channels


def notifications_enqueue(*, request: ApprovalRequest, event: str) -> list[NotificationDelivery]:
    channels = _channels(request, event)
    if not channels:
        return []
    deliveries = DELIVERY.create_all(
        [
            NotificationDelivery(
                request=request, channel=channel, event=event, next_attempt_at=timezone.now()
            )
            for channel in channels
        ],
        status=NotificationStatus.PENDING,
        actor=SYSTEM,
        reason=event,
    )
    for delivery in deliveries:
        outbox_send("approvals.tasks.notification_deliver", delivery.pk)
    return deliveries


# --- senders: each raises on failure ---------------------------------------------------------
def _send_email(delivery: NotificationDelivery) -> None:
    request = delivery.request
    recipients = list(settings.AUTOPACK_NOTIFY_EMAILS) or list(
        ProjectMembership.objects.filter(
            project_id=request.project_id, role__in=roles_with(Capability.DECIDE_APPROVALS)
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
        .distinct()
    )
    if not recipients:
        return  # nobody to tell is not a failure
    send_mail(
        f"[Autopack] {request.project.slug}: {request.get_kind_display()} needs approval — "
        f"{request.title}",
        f"{request.title}\n\nRisk: {request.risk_score:.2f}\nRequested by: "
        f"{request.requester_label}\nExpires: {request.expires_at:%Y-%m-%d %H:%M UTC}\n\n"
        f"Review it: {admin_link(request)}\n",
        None,
        recipients,
    )


def _send_telegram(delivery: NotificationDelivery) -> None:
    request = delivery.request
    text = (
        f"Approval needed in {request.project.slug}: {request.title}\n"
        f"risk {request.risk_score:.2f}, requested by {request.requester_label}\n"
        f"{admin_link(request)}"
    )
    url = (
        f"{settings.AUTOPACK_TELEGRAM_API_BASE.rstrip('/')}"
        f"/bot{settings.AUTOPACK_TELEGRAM_BOT_TOKEN}/sendMessage"
    )
    message = {"chat_id": settings.AUTOPACK_TELEGRAM_CHAT_ID, "text": text}
    with outbound_client(
        timeout=10.0, allow=(settings.AUTOPACK_TELEGRAM_API_BASE,), transport=_transport
    ) as client:
        response = client.post(
            url, content=canonical_json(message), headers={"Content-Type": "application/json"}
        )
    if response.status_code >= 300:
        raise RuntimeError(f"Telegram answered {response.status_code}")


def _send_webhook(delivery: NotificationDelivery) -> None:
    request = delivery.request
    secret = signing_secret_current(project_id=request.project_id)
    if not secret:
        slug = request.project.slug
        raise SigningSecretMissing(
            f"project {slug} has no signing secret (manage.py signingsecret rotate --project "
            f"{slug})"
        )
    body = canonical_json(
        {
            "event": delivery.event,
            "approval": {
                "id": request.pk,
                "status": request.status,
                "kind": request.kind,
                "subject": request.subject,
                "target_id": request.target_id,
                "payload_hash": request.payload_hash,
                "decided_at": request.decided_at.isoformat() if request.decided_at else None,
                "valid_until": request.valid_until.isoformat() if request.valid_until else None,
            },
            "sent_at": timezone.now().isoformat(),
        }
    )
    headers = {
        "Content-Type": "application/json",
        "X-Autopack-Event": delivery.event,
        "X-Autopack-Delivery": str(delivery.pk),
        HEADER: sign(secret, body),
    }
    with outbound_client(timeout=10.0, transport=_transport) as client:
        response = client.post(request.callback_url, content=body, headers=headers)
    if response.status_code >= 300:
        raise RuntimeError(f"the callback answered {response.status_code}")


SENDERS = {
    NotificationChannel.EMAIL: _send_email,
    NotificationChannel.TELEGRAM: _send_telegram,
    NotificationChannel.WEBHOOK: _send_webhook,
}


def backoff(attempts: int) -> timedelta:
    # retry jitter spreads retries and guards nothing:
    jitter = random.uniform(0.8, 1.2)  # nosec B311
    return timedelta(seconds=min(3600.0, 30 * 2 ** max(0, attempts - 1)) * jitter)


def notification_send(delivery_id: int) -> str:
    """Sends one delivery (outside any transaction) and records the outcome under a lock."""
    now = timezone.now()
    # Claim it (compare-and-set): the task queued after commit and the retry schedule never
    # send the same delivery at once; a sender that dies is retried when the claim lapses.
    claimed = NotificationDelivery.objects.filter(
        pk=delivery_id, status=NotificationStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + CLAIM)
    if not claimed:
        return "not_due"
    delivery = NotificationDelivery.objects.select_related("request__project").get(pk=delivery_id)
    error, final = "", False
    try:
        SENDERS[delivery.channel](delivery)
    except Exception as exc:  # any failure is recorded and retried, never raised
        error = scrub(
            f"{type(exc).__name__}: {exc}", secrets=(settings.AUTOPACK_TELEGRAM_BOT_TOKEN,)
        )[:500]
        final = isinstance(exc, RefusedTarget)  # the address will not become acceptable
    with transaction.atomic():
        locked = DELIVERY.lock(delivery_id)
        if locked.status != NotificationStatus.PENDING:
            return locked.status
        attempts = locked.attempts + 1  # the row is locked: no one else counts meanwhile
        if not error:
            DELIVERY.move(
                locked,
                NotificationStatus.SENT,
                actor=SYSTEM,
                attempts=attempts,
                sent_at=timezone.now(),
                last_error="",
            )
        elif final or attempts >= settings.AUTOPACK_NOTIFY_MAX_ATTEMPTS:
            DELIVERY.move(
                locked,
                NotificationStatus.FAILED,
                actor=SYSTEM,
                reason=error,
                attempts=attempts,
                last_error=error,
            )
        else:
            locked.attempts, locked.last_error = attempts, error
            locked.next_attempt_at = timezone.now() + backoff(attempts)
            locked.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    logger.info(
        "notification attempt",
        extra={
            "delivery": delivery_id,
            "channel": delivery.channel,
            "event": delivery.event,
            "outcome": locked.status,
            "error": error,
        },
    )
    return locked.status


def notifications_due(*, limit: int = 100) -> list[int]:
    return list(
        NotificationDelivery.objects.filter(
            status=NotificationStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
