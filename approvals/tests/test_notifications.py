"""Notifications: after commit only, real HTTP for webhooks, Telegram through MockTransport,
e-mail through Django's locmem backend; failures recorded, retried, never leaking secrets."""

import json
import logging
from datetime import timedelta

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from approvals import notifications
from approvals.models import NotificationDelivery, NotificationStatus
from approvals.notifications import notification_send
from approvals.services import approval_decide, approval_request_create
from autopack_site.models import OutboxMessage, Role
from autopack_site.services import signing_secret_rotate
from autopack_site.signing import verify
from tests.factories import make_member
from tests.listeners import Listener

pytestmark = pytest.mark.django_db

TOKEN = "123456789:AAtelegram-canary-token-abcdefghijklmnopq"


@pytest.fixture
def sink(settings):
    with Listener() as listener:
        settings.AUTOPACK_OUTBOUND_ALLOW = [listener.origin]  # this loopback sink, no other
        yield listener, f"{listener.url}/hook"


@pytest.fixture
def stranger():
    """A loopback listener nobody configured: nothing may ever reach it."""
    with Listener() as listener:
        yield listener, f"{listener.url}/hook"


def ask(project, callback_url=""):
    return approval_request_create(
        project=project,
        kind="action",
        subject="action:1",
        title="Publish the video",
        payload={"v": 1},
        callback_url=callback_url,
        risk_score=0.4,
    )


def test_created_request_emails_operators_with_a_deep_link(project, mailoutbox, settings):
    settings.AUTOPACK_BASE_URL = "https://autopack.example.com"
    operator = make_member(project, Role.OPERATOR)
    operator.email = "op@example.com"
    operator.save()
    request = ask(project)
    delivery = NotificationDelivery.objects.get(request=request, channel="email")
    # the send is an outbox row of the same transaction: nothing leaves before it commits
    [message] = OutboxMessage.objects.filter(task="approvals.tasks.notification_deliver")
    assert message.args == [delivery.pk] and not mailoutbox
    assert notification_send(delivery.pk) == NotificationStatus.SENT
    assert mailoutbox[0].to == ["op@example.com"]
    assert f"https://autopack.example.com/admin/approvals/approvalrequest/{request.pk}/change/" in (
        mailoutbox[0].body
    )
    assert notification_send(delivery.pk) == "not_due"  # never twice


def test_a_rolled_back_request_notifies_nobody(project):
    with pytest.raises(RuntimeError), transaction.atomic():
        ask(project)
        raise RuntimeError("roll back")
    assert not NotificationDelivery.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_webhook_is_signed_with_the_projects_secret_on_each_status_change(
    project, other_project, sink
):
    handler, url = sink
    _row, secret = signing_secret_rotate(project=project)
    _row, others_secret = signing_secret_rotate(project=other_project)
    operator = make_member(project, Role.OPERATOR)
    request = ask(project, callback_url=url)
    approval_decide(
        request_id=request.pk, user=operator, approve=True, payload_hash_seen=request.payload_hash
    )
    for delivery in NotificationDelivery.objects.filter(channel="webhook").order_by("id"):
        assert notification_send(delivery.pk) == NotificationStatus.SENT
    events = [json.loads(got.body)["event"] for got in handler.received]
    assert events == ["created", "approved"]
    headers, body = handler.received[1].headers, handler.received[1].body
    assert verify(secret, headers["X-Autopack-Signature"], body)
    # another project's agent holds another secret: it can neither verify nor forge these
    assert not verify(others_secret, headers["X-Autopack-Signature"], body)
    assert json.loads(body)["approval"]["status"] == "approved"


def test_without_a_signing_secret_nothing_is_sent_and_the_reason_is_recorded(project, sink):
    handler, url = sink
    request = ask(project, callback_url=url)
    delivery = NotificationDelivery.objects.get(request=request, channel="webhook")
    assert notification_send(delivery.pk) == NotificationStatus.PENDING
    delivery.refresh_from_db()
    assert "no signing secret" in delivery.last_error
    assert handler.received == []


def test_a_callback_to_an_unconfigured_loopback_listener_fails_and_sends_nothing(project, stranger):
    signing_secret_rotate(project=project)
    handler, url = stranger
    request = ask(project, callback_url=url)  # a service call: past the API's early check
    delivery = NotificationDelivery.objects.get(request=request, channel="webhook")
    assert notification_send(delivery.pk) == NotificationStatus.FAILED  # not retried
    delivery.refresh_from_db()
    assert "RefusedTarget" in delivery.last_error and "routable" in delivery.last_error
    assert handler.received == []


def test_failed_webhook_is_retried_with_backoff_then_given_up(project, sink, settings):
    handler, url = sink
    signing_secret_rotate(project=project)
    handler.status = 500
    settings.AUTOPACK_NOTIFY_MAX_ATTEMPTS = 2
    request = ask(project, callback_url=url)
    delivery = NotificationDelivery.objects.get(request=request, channel="webhook")
    assert notification_send(delivery.pk) == NotificationStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and "500" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)
    NotificationDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert notification_send(delivery.pk) == NotificationStatus.FAILED


def test_telegram_message_has_the_link_and_failures_hide_the_token(
    project, settings, caplog, monkeypatch
):
    settings.AUTOPACK_TELEGRAM_BOT_TOKEN = TOKEN
    settings.AUTOPACK_TELEGRAM_CHAT_ID = "-100200"
    sent: list[httpx.Request] = []

    def ok(request):
        sent.append(request)
        return httpx.Response(200, json={"ok": True})

    monkeypatch.setattr(notifications, "_transport", httpx.MockTransport(ok))
    request = ask(project)
    delivery = NotificationDelivery.objects.get(request=request, channel="telegram")
    assert notification_send(delivery.pk) == NotificationStatus.SENT
    message = json.loads(sent[0].content)
    assert message["chat_id"] == "-100200"
    assert f"/admin/approvals/approvalrequest/{request.pk}/change/" in message["text"]

    def broken(request):
        raise httpx.ConnectError(f"cannot reach {request.url}")  # the URL holds the token

    monkeypatch.setattr(notifications, "_transport", httpx.MockTransport(broken))
    caplog.set_level(logging.DEBUG)
    second = ask(project)
    failing = NotificationDelivery.objects.get(request=second, channel="telegram")
    assert notification_send(failing.pk) == NotificationStatus.PENDING
    failing.refresh_from_db()
    assert "ConnectError" in failing.last_error
    assert TOKEN not in failing.last_error
    assert TOKEN.split(":")[1] not in caplog.text
