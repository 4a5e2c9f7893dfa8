"""The kill switch over the API: an agent key engages it, never releases it; every change is an
append-only risk event with the limits as they were and the actor."""

import pytest
from django.db import connection

from trading.models import RiskEvent, SwitchStatus
from trading.tests.conftest import check
from trading.transitions import ACCOUNT, DECISION, KILL_SWITCH

pytestmark = pytest.mark.django_db


def switch_url(account):
    return f"/api/v1/trading/accounts/{account.pk}/kill-switch"


def test_an_agent_engages_the_kill_switch_but_cannot_release_it(trader, account):
    engaged = trader.post(switch_url(account), {"engaged": True, "reason": "odd fills"}, "json")
    assert engaged.status_code == 200 and engaged.json()["engaged"] is True
    assert check(trader, account).json()["reasons"][0]["code"] == "KILL_SWITCH_ENGAGED"
    release = trader.post(switch_url(account), {"engaged": False, "reason": "all good"}, "json")
    assert release.status_code == 403
    assert release.json()["error"]["code"] == "kill_switch_release_forbidden"
    account.kill_switch.refresh_from_db()
    assert account.kill_switch.status == SwitchStatus.ENGAGED
    event = RiskEvent.objects.filter(account=account, kind="kill_switch").latest("id")
    assert (event.from_status, event.to_status) == ("released", "engaged")
    assert event.actor.startswith("agent:") and event.reason == "odd fills"
    assert event.limits["max_orders_per_day"] == account.max_orders_per_day


def test_a_read_key_cannot_engage(project, account):
    from conftest import agent_client
    from tests.factories import make_key

    reader = agent_client(make_key(project, scopes=["read"]))
    response = reader.post(switch_url(account), {"engaged": True, "reason": "x"}, "json")
    assert response.status_code == 403


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_risk_events_are_append_only_in_the_database(account):
    from django.db import transaction
    from django.db.utils import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic():
        RiskEvent.objects.filter(account=account).update(reason="rewritten")


def test_every_trading_machine_walks_its_table(project):
    """tests/test_state_machines.py leaves trading's machines to this walk."""
    from tests.test_state_machines import _walk
    from trading.models import OrderDecision
    from trading.tests.conftest import make_account

    counter = iter(range(1000))

    def account():
        return make_account(project, name=f"walk-{next(counter)}")

    def decision():
        acc = account()
        return OrderDecision.objects.create(
            project=project,
            account=acc,
            client_order_id="c",
            request_hash="0" * 64,
            symbol="AAPL",
            side="buy",
            qty=1,
            order_type="market",
            reference_price=1,
            strategy_version="s",
            order_value=1,
            allowed=True,
            effective_mode="paper",
            status="reserved",
        )

    assert _walk(ACCOUNT, account) == 6
    assert _walk(KILL_SWITCH, lambda: account().kill_switch) == 2
    assert _walk(DECISION, decision) > 10
    assert connection.vendor in ("sqlite", "postgresql")


def test_the_command_creates_an_account_and_prints_its_id_last(project):
    from io import StringIO

    from django.core.management import call_command

    from trading.models import TradingAccount

    out = StringIO()
    call_command(
        "tradingaccount",
        "create",
        "--project",
        project.slug,
        "--mode",
        "paper",
        "--max-orders-per-day",
        "3",
        "--max-order-value",
        "250.50",
        stdout=out,
    )
    account = TradingAccount.objects.get(pk=int(out.getvalue().strip().splitlines()[-1]))
    assert account.mode == "paper" and account.max_orders_per_day == 3
    assert str(account.max_order_value) == "250.5000"
