"""Reconciliation over real HTTP on loopback: the fake broker lists orders, positions and the
account; an order there that no allowed check knows halts the account once and alerts the
trading supervisors; orders placed through the gate are known; a broker that cannot be read
changes nothing but says why."""

from decimal import Decimal

import httpx
import pytest

from autopack_site.models import OutboxMessage, Role
from autopack_site.schedules import SCHEDULES
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute
from ledger.tests.conftest import (  # noqa: F401  (fixtures)
    actor,
    fake_provider,
    ledger_project,
    propose,
)
from tests.factories import make_member
from trading import tasks
from trading.models import AccountStatus, Broker, BrokerOrder, RiskEvent, TradingAccount
from trading.services import account_reconcile, account_status_change, unknown_orders_alert
from trading.tests.conftest import make_account
from trading.tests.test_ledger_gate import allowed_check, alpaca_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(ledger_project):  # noqa: F811
    return make_account(ledger_project, broker=Broker.ALPACA)


def place_through_the_gate(actor, account, client_order_id: str) -> ExternalAction:  # noqa: F811
    decision = allowed_check(account, client_order_id=client_order_id)
    response = propose(
        actor, f"key-{client_order_id}", "alpaca", "orders.create", alpaca_order(decision)
    )
    action = ExternalAction.objects.get(pk=response.json()["id"])
    action_execute(action.pk)
    action.refresh_from_db()
    assert action.status == ActionStatus.SUCCEEDED
    return action


def outside_order(fake, **order) -> dict:
    """Someone places an order at the broker directly (the fake's control endpoint, over HTTP)."""
    return httpx.post(f"{fake.url}/_alpaca/orders", json=order, timeout=5).json()


def test_orders_placed_through_the_gate_are_known(actor, account, fake_provider):  # noqa: F811
    place_through_the_gate(actor, account, "known-1")
    result = account_reconcile(account_id=account.pk)
    assert result.error == "" and result.orders_seen == 1 and result.unknown == []
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.reconciled_at is not None
    seen = BrokerOrder.objects.get()
    assert seen.known and seen.decision.client_order_id == "known-1"


def test_an_unknown_order_at_the_broker_halts_the_account_once_and_alerts(
    actor,  # noqa: F811
    account,
    fake_provider,  # noqa: F811
    ledger_project,  # noqa: F811
    mailoutbox,
):
    place_through_the_gate(actor, account, "known-1")
    stranger = outside_order(fake_provider, symbol="TSLA", qty="3", side="buy")
    result = account_reconcile(account_id=account.pk)
    assert result.unknown == [stranger["id"]]
    account.refresh_from_db()
    assert account.status == AccountStatus.HALTED
    breach = RiskEvent.objects.filter(account=account, kind=RiskEvent.Kind.BREACH).get()
    assert breach.to_status == "UNKNOWN_BROKER_ORDER" and stranger["id"] in breach.reason
    assert breach.limits["max_order_value"]  # the limits as they were
    alert = OutboxMessage.objects.get(task="trading.tasks.unknown_orders_alert")
    assert alert.args == [account.pk, [stranger["id"]]]
    supervisor = make_member(ledger_project, Role.TRADING_SUPERVISOR)
    supervisor.email = "supervisor@example.com"
    supervisor.save()
    assert unknown_orders_alert(account_id=account.pk, broker_order_ids=[stranger["id"]]) == 1
    assert "halted" in mailoutbox[0].subject and stranger["id"] in mailoutbox[0].body

    # a supervisor looked and resumed it: the same order does not halt it again
    account_status_change(
        account=account, status=AccountStatus.ACTIVE, reason="our manual hedge", user=supervisor
    )
    assert account_reconcile(account_id=account.pk).unknown == []
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_a_known_client_order_id_with_other_parameters_is_unknown(
    actor,  # noqa: F811
    account,
    fake_provider,  # noqa: F811
):
    decision = allowed_check(account, client_order_id="reused-1", qty="1")
    outside_order(fake_provider, client_order_id=decision.client_order_id, symbol="AAPL", qty="50")
    assert len(account_reconcile(account_id=account.pk).unknown) == 1
    account.refresh_from_db()
    assert account.status == AccountStatus.HALTED


def test_positions_drift_and_broker_equity_are_recorded(account, fake_provider):  # noqa: F811
    httpx.post(
        f"{fake_provider.url}/_alpaca/positions",
        json={"symbol": "AAPL", "qty": "5", "avg_entry_price": "100"},
        timeout=5,
    )
    httpx.post(f"{fake_provider.url}/_alpaca/account", json={"equity": "12345.67"}, timeout=5)
    result = account_reconcile(account_id=account.pk)
    assert result.drift == {"AAPL": {"ours": "0", "broker": "5"}}
    assert result.equity == Decimal("12345.67")
    account.refresh_from_db()
    assert account.broker_drift == result.drift
    assert account.day.equity == Decimal("12345.67")
    assert account.status == AccountStatus.ACTIVE  # drift is shown, not a halt


@pytest.mark.parametrize("match", ["/v2/orders", "/v2/positions", "/v2/account"])
def test_a_broker_that_cannot_be_read_changes_nothing_and_says_why(
    account,
    fake_provider,  # noqa: F811
    match,
):
    outside_order(fake_provider, symbol="TSLA")
    fake_provider.fault(match=match, mode="500", count=1)
    result = account_reconcile(account_id=account.pk)
    assert "provider error 500" in result.error
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.reconciled_at is None
    assert "500" in account.reconcile_error and not BrokerOrder.objects.exists()
    # the next run reads it and halts
    assert len(account_reconcile(account_id=account.pk).unknown) == 1
    account.refresh_from_db()
    assert account.reconcile_error == "" and account.status == AccountStatus.HALTED


def test_the_schedule_reconciles_every_alpaca_account(account, fake_provider, ledger_project):  # noqa: F811
    simulated = make_account(ledger_project, name="sim")
    outside_order(fake_provider, symbol="TSLA")
    assert ("trading-reconcile", "trading.tasks.accounts_reconcile", 1) in SCHEDULES
    assert tasks.accounts_reconcile() == 1
    assert TradingAccount.objects.get(pk=account.pk).status == AccountStatus.HALTED
    assert TradingAccount.objects.get(pk=simulated.pk).status == AccountStatus.ACTIVE
