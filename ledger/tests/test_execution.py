"""Execution through the adapters against the fake provider on loopback (real HTTP)."""

import json
import logging
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from autopack_site import outbound
from autopack_site.signing import verify
from ledger.models import ActionEvent, ActionStatus, ExternalAction, ProviderCredential
from ledger.services import (
    action_authorise_retry,
    action_execute,
    action_reconcile,
    action_record_outcome,
    actions_sweep_leases,
)
from ledger.tests.conftest import CANARIES, order, product, propose
from tests.listeners import Listener

pytestmark = pytest.mark.django_db


def created(fake, provider):
    return fake.state_snapshot()["created"].get(provider, [])


def approve(action_id, user):
    """Approves the action's request; the after-commit hand-over to the ledger runs here as it
    would after the commit."""
    from django.test import TestCase

    action = ExternalAction.objects.get(pk=action_id)
    with TestCase.captureOnCommitCallbacks(execute=True):
        approval_decide(
            request_id=action.approval_id,
            user=user,
            approve=True,
            payload_hash_seen=action.payload_hash,
        )


def test_an_allowed_order_executes_once(actor, fake_provider):
    body = propose(actor, "o-1", "alpaca", "orders.create", order()).json()
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    assert action_execute(body["id"]) == "not_claimed"  # exactly once
    action = ExternalAction.objects.get(pk=body["id"])
    orders = created(fake_provider, "alpaca")
    assert len(orders) == 1 and orders[0]["client_order_id"] == action.reference
    assert action.provider_reference == orders[0]["id"]
    moves = list(action.events.values_list("to_status", flat=True))
    assert moves == ["approved", "executing", "succeeded"]


def test_approved_action_executes_with_the_approved_payload(actor, approver, fake_provider):
    body = propose(actor, "p-1", "shopify", "products.create", product()).json()
    approve(body["id"], approver)
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    assert len(created(fake_provider, "shopify")) == 1
    approval = ApprovalRequest.objects.get(pk=body["approval"]["id"])
    assert approval.status == "consumed"


def test_tampered_payload_after_approval_is_refused(actor, approver, fake_provider):
    body = propose(actor, "p-2", "shopify", "products.create", product()).json()
    approve(body["id"], approver)
    ExternalAction.objects.filter(pk=body["id"]).update(payload=product(title="Something else"))
    assert action_execute(body["id"]) == ActionStatus.FAILED
    action = ExternalAction.objects.get(pk=body["id"])
    assert "no longer matches" in action.error
    assert created(fake_provider, "shopify") == []


def test_expired_approval_is_not_executed(actor, approver, fake_provider):
    body = propose(actor, "p-3", "shopify", "products.create", product()).json()
    approve(body["id"], approver)
    ApprovalRequest.objects.filter(pk=body["approval"]["id"]).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    assert action_execute(body["id"]) == ActionStatus.EXPIRED
    assert created(fake_provider, "shopify") == []


def test_missing_scope_holds_with_a_clear_reason(actor, ledger_project, fake_provider):
    ProviderCredential.objects.filter(provider="alpaca").update(scopes=["read"])
    body = propose(actor, "o-2", "alpaca", "orders.create", order()).json()
    assert action_execute(body["id"]) == ActionStatus.HELD
    action = ExternalAction.objects.get(pk=body["id"])
    assert "lacks the scope(s) trading" in action.error
    assert created(fake_provider, "alpaca") == []


def test_rotation_overdue_and_disallowed_action_are_refused(actor, fake_provider):
    ProviderCredential.objects.filter(provider="alpaca").update(
        rotated_at=timezone.now() - timedelta(days=400)
    )
    first = propose(actor, "o-3", "alpaca", "orders.create", order()).json()
    assert action_execute(first["id"]) == ActionStatus.HELD
    assert "rotate it" in ExternalAction.objects.get(pk=first["id"]).error
    ProviderCredential.objects.filter(provider="alpaca").update(
        rotated_at=timezone.now(), allowed_actions=["orders.cancel"]
    )
    second = propose(actor, "o-4", "alpaca", "orders.create", order(qty="2")).json()
    assert action_execute(second["id"]) == ActionStatus.HELD
    assert "does not allow" in ExternalAction.objects.get(pk=second["id"]).error


def test_5xx_is_retried_where_the_provider_deduplicates(actor, fake_provider):
    fake_provider.fault(match="/v2/orders", mode="500", count=1)
    body = propose(actor, "o-5", "alpaca", "orders.create", order()).json()
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    assert len(created(fake_provider, "alpaca")) == 1
    assert ExternalAction.objects.get(pk=body["id"]).attempts == 2


def test_5xx_is_not_retried_where_the_provider_does_not_deduplicate(actor, approver, fake_provider):
    fake_provider.fault(match="/admin/api", mode="500", count=1)
    body = propose(actor, "p-4", "shopify", "products.create", product()).json()
    approve(body["id"], approver)
    assert action_execute(body["id"]) == ActionStatus.FAILED
    assert ExternalAction.objects.get(pk=body["id"]).attempts == 1


def test_429_honours_retry_after(actor, fake_provider):
    fake_provider.fault(match="/v2/orders", mode="429", count=1, retry_after=1)
    body = propose(actor, "o-6", "alpaca", "orders.create", order()).json()
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    retry = ActionEvent.objects.filter(action_id=body["id"], to_status="approved").last()
    assert retry.detail["retry_in"] == 1


def test_dropped_connection_after_the_side_effect_is_reconciled_by_lookup(
    actor, approver, fake_provider, settings
):
    settings.AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS = 0
    fake_provider.fault(match="/admin/api", mode="drop_after_commit", count=1)
    body = propose(actor, "p-5", "shopify", "products.create", product()).json()
    approve(body["id"], approver)
    assert action_execute(body["id"]) == ActionStatus.UNKNOWN
    assert len(created(fake_provider, "shopify")) == 1
    assert action_reconcile(body["id"]) == ActionStatus.SUCCEEDED
    assert action_execute(body["id"]) == "not_claimed"
    assert len(created(fake_provider, "shopify")) == 1


def test_absent_after_settling_is_retried_once(actor, fake_provider, settings):
    settings.AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS = 0
    settings.AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS = 1
    fake_provider.fault(match="/v2/orders", mode="drop_before_commit", count=1)
    body = propose(actor, "o-7", "alpaca", "orders.create", order()).json()
    assert action_execute(body["id"]) == ActionStatus.UNKNOWN
    assert action_reconcile(body["id"]) == ActionStatus.UNKNOWN  # too early to trust "absent"
    time.sleep(1.1)  # the dropped call can no longer land: call timeout + grace
    assert action_reconcile(body["id"]) == ActionStatus.APPROVED
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    assert len(created(fake_provider, "alpaca")) == 1


def test_an_expired_lease_makes_the_action_unknown_never_a_retry(actor, fake_provider):
    body = propose(actor, "o-8", "alpaca", "orders.create", order()).json()
    ExternalAction.objects.filter(pk=body["id"]).update(
        status=ActionStatus.EXECUTING,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        claimed_by="worker:dead",
        attempts=1,
    )
    assert actions_sweep_leases() == 1
    assert ExternalAction.objects.get(pk=body["id"]).status == ActionStatus.UNKNOWN
    assert action_execute(body["id"]) == "not_claimed"


def test_a_provider_that_cannot_tell_goes_to_an_operator(actor, approver, fake_provider):
    hook = {"url": f"{fake_provider.url}/webhook/orders", "event": "order.created", "data": {}}
    body = propose(actor, "w-1", "webhook", "send", hook).json()
    ExternalAction.objects.filter(pk=body["id"]).update(status=ActionStatus.UNKNOWN)
    assert action_reconcile(body["id"]) == ActionStatus.NEEDS_RECONCILIATION
    with pytest.raises(Exception, match="reason"):
        action_authorise_retry(action_id=body["id"], user=approver, reason="")
    action_record_outcome(
        action_id=body["id"], user=approver, succeeded=True, reason="the receiver has it"
    )
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.SUCCEEDED
    assert action.events.last().actor == f"user:{approver.username}"


def test_signed_webhook_is_delivered_with_a_verifiable_signature(
    actor, fake_provider, signing_secret
):
    hook = {
        "url": f"{fake_provider.url}/webhook/orders",
        "event": "order.created",
        "data": {"n": 1},
    }
    body = propose(actor, "w-2", "webhook", "send", hook).json()
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    deliveries = created(fake_provider, "webhook")
    assert len(deliveries) == 1
    headers = {k.lower(): v for k, v in deliveries[0]["headers"].items()}
    body = deliveries[0]["body"].encode()
    assert verify(signing_secret, headers["x-autopack-signature"], body)  # the project's secret


def test_canary_secrets_reach_neither_the_database_nor_the_logs(
    actor, approver, fake_provider, caplog
):
    caplog.set_level(logging.DEBUG)
    fake_provider.fault(match="/v2/orders", mode="500", count=5)
    propose(actor, "c-1", "alpaca", "orders.create", order())
    failing = ExternalAction.objects.get(idempotency_key="c-1")
    action_execute(failing.pk)
    body = propose(actor, "c-2", "shopify", "products.create", product()).json()
    approve(body["id"], approver)
    action_execute(body["id"])
    with connection.cursor() as cursor:
        dumps = []
        for table in (
            "ledger_externalaction",
            "ledger_actionevent",
            "approvals_approvalrequest",
            "policies_decisionlog",
            "ledger_providercredential",
        ):
            cursor.execute(f"SELECT * FROM {table}")
            dumps.append(json.dumps(cursor.fetchall(), default=str))
    everything = "\n".join(dumps) + caplog.text
    for canary in CANARIES:
        assert canary not in everything


def test_a_webhook_whose_name_resolves_inside_fails_and_sends_nothing(
    actor, fake_provider, monkeypatch
):
    """Accepted at proposal (a name, no DNS there); at the call the name resolves to a
    loopback listener: the action fails with a reason, never unknown, and nothing arrives."""
    with Listener() as stranger:
        hook = {"url": f"http://hooks.example:{stranger.port}/in", "event": "e", "data": {}}
        body = propose(actor, "w-9", "webhook", "send", hook).json()
        assert body["status"] == "approved"
        monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
        assert action_execute(body["id"]) == ActionStatus.FAILED
        event = ExternalAction.objects.get(pk=body["id"]).events.last()
        assert event.detail["code"] == "outbound_refused"
        assert "127.0.0.1" in event.detail["error"]
        assert stranger.received == []


def test_a_deduplicating_provider_whose_name_resolves_inside_fails_not_unknown(
    actor, fake_provider, settings, monkeypatch
):
    """Alpaca deduplicates, so a refusal it sent is looked up first; a call the outbound check
    refused was never sent and fails at once."""
    settings.AUTOPACK_PROVIDER_URLS = {**settings.AUTOPACK_PROVIDER_URLS, "alpaca": ""}
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["10.0.0.7"])
    body = propose(actor, "w-10", "alpaca", "orders.create", order()).json()
    assert action_execute(body["id"]) == ActionStatus.FAILED
    event = ExternalAction.objects.get(pk=body["id"]).events.last()
    assert event.detail["code"] == "outbound_refused" and "10.0.0.7" in event.detail["error"]


def test_a_sweep_queues_nothing_for_actions_whose_task_still_waits(actor, fake_provider):
    """While a worker is busy or dead, every minute's sweep must not queue the same work again."""
    from autopack_site.models import OutboxMessage
    from ledger.services import actions_dispatch_due

    body = propose(
        actor,
        "sweep-1",
        "webhook",
        "send",
        {"url": f"{fake_provider.url}/webhook/sweep", "event": "sweep", "data": {}},
    ).json()
    ExternalAction.objects.filter(pk=body["id"]).update(status=ActionStatus.UNKNOWN)
    waiting = OutboxMessage.objects.filter(delivered_at__isnull=True)
    before = waiting.count()  # the proposal's own execution task
    assert actions_dispatch_due() == {"swept": 0, "due": 0, "unknown": 1}
    assert actions_dispatch_due() == {"swept": 0, "due": 0, "unknown": 0}
    assert waiting.count() == before + 1
    waiting.update(delivered_at=timezone.now())  # the worker ran them
    assert actions_dispatch_due()["unknown"] == 1
