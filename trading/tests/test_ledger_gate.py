"""The risk gate in front of the ledger: an Alpaca order without a matching allowed check is
refused at proposal, the check is consumed by exactly one order, the broker receives the
check's client_order_id, and an engaged kill switch holds queued orders until a trading
supervisor releases it."""

from decimal import Decimal

import pytest

from autopack_site.errors import Forbidden
from autopack_site.models import Role
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute, actions_release_guarded
from ledger.tests.conftest import (  # noqa: F401  (fixtures)
    actor,
    fake_provider,
    ledger_project,
    propose,
)
from tests.factories import make_member
from trading.models import DecisionStatus, OrderDecision, SwitchStatus
from trading.services import OrderRequest, kill_switch_set, order_check
from trading.tests.conftest import make_account

pytestmark = pytest.mark.django_db


def allowed_check(account, client_order_id="bot-1", qty="1", side="buy"):
    decision, _ = order_check(
        account=account,
        request=OrderRequest(
            client_order_id=client_order_id,
            symbol="AAPL",
            side=side,
            qty=Decimal(qty),
            order_type="limit",
            limit_price=Decimal("100"),
            reference_price=Decimal("100"),
            strategy_version="s1",
        ),
        key=None,
        actor="test",
    )
    assert decision.allowed, decision.reasons
    return decision


def alpaca_order(decision=None, **overrides):
    body = {
        "symbol": "AAPL",
        "qty": "1",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": "100.00",
        "reference_price": "100.00",
    }
    if decision is not None:
        body.update(decision_id=decision.pk, client_order_id=decision.client_order_id)
    body.update(overrides)
    return body


def reason_codes(body) -> set[str]:
    return {reason["code"] for reason in body["decision"]["reasons"]}


def test_an_order_without_a_check_is_refused(actor):  # noqa: F811
    body = propose(actor, "no-check", "alpaca", "orders.create", alpaca_order()).json()
    assert body["status"] == "denied"
    assert "TRADING_CHECK_REQUIRED" in reason_codes(body)


def test_an_order_that_differs_from_its_check_is_refused(actor, ledger_project):  # noqa: F811
    decision = allowed_check(make_account(ledger_project))
    for n, changed in enumerate([{"qty": "2"}, {"side": "sell"}, {"symbol": "MSFT"}]):
        body = propose(
            actor, f"mismatch-{n}", "alpaca", "orders.create", alpaca_order(decision, **changed)
        ).json()
        assert body["status"] == "denied", changed
        assert "TRADING_CHECK_MISMATCH" in reason_codes(body)


def test_a_denied_or_foreign_check_is_refused(actor, ledger_project, other_project):  # noqa: F811
    foreign = allowed_check(make_account(other_project))
    body = propose(actor, "foreign", "alpaca", "orders.create", alpaca_order(foreign)).json()
    assert "TRADING_CHECK_NOT_ALLOWED" in reason_codes(body)


def test_a_checked_order_executes_once_with_the_checks_client_order_id(
    actor,  # noqa: F811
    ledger_project,  # noqa: F811
    fake_provider,  # noqa: F811
):
    decision = allowed_check(make_account(ledger_project))
    body = propose(actor, "ok", "alpaca", "orders.create", alpaca_order(decision)).json()
    assert body["status"] == "approved", body["decision"]
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    sent = fake_provider.state_snapshot()["created"]["alpaca"]
    assert [order["client_order_id"] for order in sent] == ["bot-1"]
    decision.refresh_from_db()
    assert decision.ledger_action_id == body["id"]
    # The same check cannot carry a second order.
    again = propose(actor, "twice", "alpaca", "orders.create", alpaca_order(decision)).json()
    assert again["status"] == "denied"
    assert "TRADING_CHECK_CONSUMED" in reason_codes(again)


def test_an_engaged_kill_switch_holds_queued_orders_until_a_supervisor_releases_it(
    actor,  # noqa: F811
    ledger_project,  # noqa: F811
    fake_provider,  # noqa: F811
):
    account = make_account(ledger_project)
    decision = allowed_check(account)
    body = propose(actor, "queued", "alpaca", "orders.create", alpaca_order(decision)).json()
    assert body["status"] == "approved"
    kill_switch_set(account=account, engaged=True, reason="runaway bot", user=None)
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.HELD and "KILL_SWITCH_ENGAGED" in action.error
    assert action_execute(action.pk) == "not_claimed"
    assert actions_release_guarded() == 0  # still held by the switch
    assert not fake_provider.state_snapshot()["created"].get("alpaca")
    # A new order for the account is held at proposal too.
    second = allowed_check_after_engaged(account, actor)
    assert second == "denied"
    supervisor = make_member(ledger_project, Role.TRADING_SUPERVISOR)
    with pytest.raises(Forbidden):
        kill_switch_set(
            account=account,
            engaged=False,
            reason="ok",
            user=make_member(ledger_project, Role.OPERATOR),
        )
    kill_switch_set(account=account, engaged=False, reason="reviewed", user=supervisor)
    assert actions_release_guarded() == 1
    assert action_execute(action.pk) == ActionStatus.SUCCEEDED
    assert account.kill_switch.__class__.objects.get(pk=account.pk).status == (
        SwitchStatus.RELEASED
    )


def allowed_check_after_engaged(account, actor):  # noqa: F811
    decision, _ = order_check(
        account=account,
        request=OrderRequest(
            client_order_id="after",
            symbol="AAPL",
            side="buy",
            qty=Decimal("1"),
            order_type="market",
            reference_price=Decimal("100"),
            strategy_version="s1",
        ),
        key=None,
        actor="test",
    )
    assert [r["code"] for r in decision.reasons] == ["KILL_SWITCH_ENGAGED"]
    return decision.status


def test_an_order_whose_check_expired_is_refused_before_the_call(
    actor,  # noqa: F811
    ledger_project,  # noqa: F811
    fake_provider,  # noqa: F811
):
    from django.utils import timezone

    from trading.services import decisions_expire

    account = make_account(ledger_project)
    decision = allowed_check(account)
    body = propose(actor, "late", "alpaca", "orders.create", alpaca_order(decision)).json()
    OrderDecision.objects.filter(pk=decision.pk).update(expires_at=timezone.now())
    assert decisions_expire() == 1
    assert OrderDecision.objects.get(pk=decision.pk).status == DecisionStatus.EXPIRED
    assert action_execute(body["id"]) == ActionStatus.FAILED
    assert not fake_provider.state_snapshot()["created"].get("alpaca")


def test_the_order_goes_out_with_the_accounts_own_credential_for_its_mode(
    actor,  # noqa: F811
    ledger_project,  # noqa: F811
    fake_provider,  # noqa: F811
):
    """Paper and live are separate broker environments with separate credentials per account:
    the ledger calls with the account's credential for the check's mode, not the project's
    default one (here the account's is held, so the order is held for it)."""
    from datetime import timedelta

    from django.utils import timezone

    from ledger.models import ProviderCredential

    own = ProviderCredential.objects.create(
        project=ledger_project,
        provider="alpaca",
        name="alpaca-account-paper",
        environment="production",
        scopes=["trading"],
        allowed_actions=["*"],
        secret_name="ALPACA_KEY",
        rotated_at=timezone.now() - timedelta(days=1),
        held_reason="being rotated",
    )
    account = make_account(ledger_project, name="own-credential", paper_credential=own)
    decision = allowed_check(account, client_order_id="own-1")
    body = propose(actor, "own", "alpaca", "orders.create", alpaca_order(decision)).json()
    assert body["status"] == "approved", body["decision"]
    action_execute(body["id"])
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.status == ActionStatus.HELD and action.held_by == "credential"
    assert "being rotated" in action.error or any(
        "being rotated" in (e.reason or "") for e in action.events.all()
    )
    assert not fake_provider.state_snapshot()["created"].get("alpaca")

    # An account without its own credential uses the project's (the ledger's default).
    plain = allowed_check(make_account(ledger_project, name="plain"), client_order_id="plain-1")
    body = propose(actor, "plain", "alpaca", "orders.create", alpaca_order(plain)).json()
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
