"""Notifications: after commit only, real HTTP for webhooks, Telegram through MockTransport,
e-mail through Django's locmem backend; failures recorded, retried, never leaking secrets."""

import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from approvals import notifications
from approvals.models import NotificationDelivery, NotificationStatus
from approvals.notifications import notification_send, webhook_verify
from approvals.services import approval_decide, approval_request_create
from autopack_site.models import Role
from tests.factories import make_member

pytestmark = pytest.mark.django_db

TOKEN = "123456789:AAtelegram-canary-token-abcdefghijklmnopq"


class Sink(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers.items()), body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sink(monkeypatch):
    monkeypatch.setenv("AUTOPACK_ALLOW_PRIVATE_OUTBOUND", "1")  # the sink is on loopback
    handler = type("S", (Sink,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


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


def test_created_request_emails_operators_with_a_deep_link(
    project, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.AUTOPACK_BASE_URL = "https://autopack.example.com"
    operator = make_member(project, Role.OPERATOR)
    operator.email = "op@example.com"
    operator.save()
    with django_capture_on_commit_callbacks() as queued:
        request = ask(project)
    assert len(queued) == 1  # the send is queued only after commit
    delivery = NotificationDelivery.objects.get(request=request, channel="email")
    assert notification_send(delivery.pk) == NotificationStatus.SENT
    assert mailoutbox[0].to == ["op@example.com"]
    assert f"https://autopack.example.com/admin/approvals/approvalrequest/{request.pk}/change/" in (
        mailoutbox[0].body
    )
    assert notification_send(delivery.pk) == "not_due"  # never twice


def test_a_rolled_back_request_notifies_nobody(project, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as queued,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        ask(project)
        raise RuntimeError("roll back")
    assert queued == []
    assert not NotificationDelivery.objects.exists()


def test_webhook_is_signed_and_sent_on_each_status_change(project, sink, settings):
    handler, url = sink
    operator = make_member(project, Role.OPERATOR)
    request = ask(project, callback_url=url)
    approval_decide(
        request_id=request.pk, user=operator, approve=True, payload_hash_seen=request.payload_hash
    )
    for delivery in NotificationDelivery.objects.filter(channel="webhook").order_by("id"):
        assert notification_send(delivery.pk) == NotificationStatus.SENT
    events = [json.loads(body)["event"] for _, body in handler.received]
    assert events == ["created", "approved"]
    headers, body = handler.received[1]
    assert webhook_verify(settings.AUTOPACK_WEBHOOK_SECRET, headers["X-Autopack-Signature"], body)
    assert not webhook_verify("wrong", headers["X-Autopack-Signature"], body)
    assert json.loads(body)["approval"]["status"] == "approved"


def test_failed_webhook_is_retried_with_backoff_then_given_up(project, sink, settings):
    handler, url = sink
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
