"""The pre-trade check over HTTP: an answer per rule, with its reason code, limit and actual;
reservations, idempotency by client_order_id, preview, day rollover and the query bound."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trading.models import AccountDay, AccountStatus, Mode, Position
from trading.services import account_equity_report, kill_switch_set, order_report
from trading.tests.conftest import check, make_account, order
from trading.transitions import ACCOUNT

pytestmark = pytest.mark.django_db


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [reason["code"] for reason in response.json()["reasons"]]


def test_an_allowed_check_answers_200_and_reserves(trader, account):
    response = check(trader, account, qty="2", reference_price="50.00")
    body = response.json()
    assert response.status_code == 200 and body["allowed"] is True
    assert body["decision_id"] and body["effective_mode"] == "paper"
    assert body["order_value"] == "100.0000"
    day = AccountDay.objects.get(account=account)
    assert day.orders_today == 1 and day.reserved_value == Decimal("100")
    assert Position.objects.get(account=account, symbol="AAPL").reserved_value == Decimal("100")
    assert body["remaining"]["orders_today"] == "999"


def test_a_replay_returns_the_same_decision_and_other_parameters_are_422(trader, account):
    first = check(trader, account).json()
    again = check(trader, account).json()
    assert again["decision_id"] == first["decision_id"] and again["replayed"] is True
    assert AccountDay.objects.get(account=account).orders_today == 1
    other = check(trader, account, qty="2")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "client_order_id_reused"


def test_kill_switch_engaged(trader, account):
    kill_switch_set(account=account, engaged=True, reason="test", user=None)
    assert codes(check(trader, account)) == ["KILL_SWITCH_ENGAGED"]


def test_mode_disabled(trader, project):
    account = make_account(project, mode=Mode.DISABLED)
    response = check(trader, account)
    assert codes(response) == ["MODE_DISABLED"]
    assert response.json()["allowed"] is False


def test_account_halted(trader, account):
    ACCOUNT.move(account, AccountStatus.HALTED, actor="test")
    assert codes(check(trader, account)) == ["ACCOUNT_HALTED"]


def test_reducing_only_lets_position_reducing_orders_pass(trader, account):
    check(trader, account, "buy-1", qty="2")
    order_report(
        account=account,
        client_order_id="buy-1",
        event="filled",
        filled_qty=Decimal("2"),
        fill_price=Decimal("100"),
        actor="test",
    )
    ACCOUNT.move(account, AccountStatus.REDUCING, actor="test")
    assert codes(check(trader, account, "buy-2")) == ["REDUCING_ONLY"]
    assert codes(check(trader, account, "sell-3", side="sell", qty="3")) == ["REDUCING_ONLY"]
    assert codes(check(trader, account, "sell-2", side="sell", qty="2")) == []


def test_symbol_not_allowed(trader, project):
    account = make_account(project, allowed_symbols=["MSFT"])
    response = check(trader, account)
    assert codes(response) == ["SYMBOL_NOT_ALLOWED"]
    assert response.json()["reasons"][0]["actual"] == "AAPL"


def test_order_value_exceeds_max_uses_the_higher_of_limit_and_reference(trader, project):
    account = make_account(project, max_order_value=Decimal("100"))
    response = check(
        trader, account, qty="1", order_type="limit", limit_price="102.00", reference_price="99"
    )
    assert codes(response) == ["ORDER_VALUE_EXCEEDS_MAX"]
    reason = response.json()["reasons"][0]
    assert (reason["limit"], reason["actual"]) == ("100.0000", "102.0000")
    assert reason["hint"]


def test_position_exceeds_max(trader, project):
    account = make_account(project, max_position_value=Decimal("150"))
    assert codes(check(trader, account, "a")) == []
    assert codes(check(trader, account, "b")) == ["POSITION_EXCEEDS_MAX"]
    assert codes(check(trader, account, "c", symbol="MSFT")) == []


def test_daily_order_count_reached(trader, project):
    account = make_account(project, max_orders_per_day=2)
    assert codes(check(trader, account, "a")) == []
    assert codes(check(trader, account, "b")) == []
    assert codes(check(trader, account, "c")) == ["DAILY_ORDER_COUNT_REACHED"]


def test_daily_loss_limit_reached_moves_the_account_to_reducing(trader, project):
    account = make_account(project, max_daily_loss=Decimal("50"))
    check(trader, account, "buy", qty="2")
    order_report(
        account=account,
        client_order_id="buy",
        event="filled",
        filled_qty=Decimal("2"),
        fill_price=Decimal("100"),
        actor="t",
    )
    check(trader, account, "sell", side="sell", qty="1", reference_price="40")
    order_report(
        account=account,
        client_order_id="sell",
        event="filled",
        filled_qty=Decimal("1"),
        fill_price=Decimal("40"),
        actor="t",
    )
    account.refresh_from_db()
    assert account.status == AccountStatus.REDUCING
    assert AccountDay.objects.get(account=account).realised_pnl_today == Decimal("-60")
    assert codes(check(trader, account, "again")) == ["REDUCING_ONLY", "DAILY_LOSS_LIMIT_REACHED"]
    assert codes(check(trader, account, "out", side="sell", qty="1")) == []


def test_exposure_exceeds_max_counts_reserved_open_orders(trader, project):
    account = make_account(project, max_exposure=Decimal("250"))
    assert codes(check(trader, account, "a", qty="2")) == []
    response = check(trader, account, "b", qty="1", symbol="MSFT")
    assert codes(response) == ["EXPOSURE_EXCEEDS_MAX"]
    assert response.json()["reasons"][0]["actual"] == "300.0000"
    order_report(account=account, client_order_id="a", event="cancelled", actor="t")
    assert codes(check(trader, account, "c", qty="1", symbol="MSFT")) == []


def test_drawdown_exceeds_max_halts_the_account(trader, project):
    account = make_account(project, max_drawdown_pct=Decimal("10"))
    account_equity_report(account=account, equity=Decimal("1000"), actor="t")
    account_equity_report(account=account, equity=Decimal("950"), actor="t")
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    account_equity_report(account=account, equity=Decimal("900"), actor="t")
    account.refresh_from_db()
    assert account.status == AccountStatus.HALTED
    assert codes(check(trader, account)) == ["ACCOUNT_HALTED", "DRAWDOWN_EXCEEDS_MAX"]


def test_order_rate_exceeded(trader, project):
    account = make_account(project, max_orders_per_minute=2)
    assert codes(check(trader, account, "a")) == []
    assert codes(check(trader, account, "b")) == []
    assert codes(check(trader, account, "c")) == ["ORDER_RATE_EXCEEDED"]
    AccountDay.objects.filter(account=account).update(
        minute_started_at=timezone.now() - timedelta(seconds=61)
    )
    assert codes(check(trader, account, "d")) == []


def test_price_outside_band(trader, account):
    response = check(
        trader, account, order_type="limit", limit_price="106.00", reference_price="100"
    )
    assert codes(response) == ["PRICE_OUTSIDE_BAND"]
    ok = check(trader, account, "b", order_type="limit", limit_price="104.00")
    assert codes(ok) == []


def test_runaway_denials_halt_the_account(trader, project):
    account = make_account(project, mode=Mode.DISABLED, runaway_denials=3)
    for n in range(3):
        check(trader, account, f"o-{n}")
    account.refresh_from_db()
    assert account.status == AccountStatus.HALTED
    assert account.events.filter(kind="breach", to_status="RUNAWAY_DENIALS").exists()


def test_missing_reference_price_is_refused(trader, account):
    response = trader.post(
        f"/api/v1/trading/accounts/{account.pk}/orders/check",
        order(reference_price=None),
        format="json",
    )
    assert response.status_code == 422


def test_live_account_without_equity_denies_for_missing_data(trader, project, monkeypatch):
    from trading.services.checks import live_authorisation

    account = make_account(project, mode=Mode.LIVE)
    with mock.patch("trading.services.checks.live_authorisation", return_value=[]):
        assert codes(check(trader, account)) == ["DATA_MISSING"]
        account_equity_report(account=account, equity=Decimal("1000"), actor="t")
        AccountDay.objects.filter(account=account).update(
            equity_reported_at=timezone.now() - timedelta(days=2)
        )
        assert codes(check(trader, account, "b")) == ["DATA_STALE"]
    assert live_authorisation  # the real one is tested in test_live


def test_preview_checks_without_reserving(trader, project):
    account = make_account(project, max_orders_per_day=1)
    url = f"/api/v1/trading/accounts/{account.pk}/orders/preview"
    for _ in range(3):
        body = trader.post(url, order(), format="json").json()
        assert body["allowed"] is True and body["decision_id"] is None
    assert AccountDay.objects.get(account=account).orders_today == 0
    assert codes(check(trader, account)) == []
    assert trader.post(url, order("x"), format="json").json()["reasons"][0]["code"] == (
        "DAILY_ORDER_COUNT_REACHED"
    )


def test_the_day_rolls_over_in_the_accounts_time_zone(trader, project):
    account = make_account(project, max_orders_per_day=1, time_zone="America/New_York")
    # 03:30 UTC on the 2nd is still the 1st in New York; 05:30 UTC is the 2nd there.
    before = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
    after = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)
    AccountDay.objects.filter(account=account).update(trading_date="2026-03-01")
    with mock.patch("django.utils.timezone.now", return_value=before):
        assert codes(check(trader, account, "a")) == []
        assert codes(check(trader, account, "b")) == ["DAILY_ORDER_COUNT_REACHED"]
    with mock.patch("django.utils.timezone.now", return_value=after):
        assert codes(check(trader, account, "c")) == []
    day = AccountDay.objects.get(account=account)
    assert str(day.trading_date) == "2026-03-02" and day.orders_today == 1


def test_a_check_uses_a_bounded_number_of_queries(trader, project):
    account = make_account(project)
    check(trader, account, "warm")
    for n, symbol in enumerate(["AAPL", "MSFT"]):
        with CaptureQueriesContext(connection) as queries:
            assert codes(check(trader, account, f"q-{n}", symbol=symbol)) == []
        # key lookup and touch, the replay probe, savepoint, lock, re-probe, position,
        # counters, position update, decision, its event: no sum over history.
        assert len(queries) <= 14, [q["sql"][:80] for q in queries]


def test_another_projects_account_is_404(trader, other_project):
    account = make_account(other_project)
    assert check(trader, account).status_code == 404


def test_a_read_only_key_cannot_check(project, account):
    from conftest import agent_client
    from tests.factories import make_key

    reader = agent_client(make_key(project, scopes=["read"]))
    assert check(reader, account).status_code == 403
    assert reader.get("/api/v1/trading/accounts").json()["accounts"][0]["id"] == account.pk


def test_an_order_too_large_to_value_is_422_not_a_database_error(trader, account):
    huge = check(trader, account, "huge", qty="55741.5", reference_price="777640583465")
    assert huge.status_code == 422
    assert "qty x price" in huge.json()["error"]["details"]["fields"][0]["message"]
    fine = check(trader, account, "fine")
    report = trader.post(
        f"/api/v1/trading/accounts/{account.pk}/orders/report",
        {
            "client_order_id": "fine",
            "event": "filled",
            "filled_qty": "999999999",
            "fill_price": "99999999",
        },
        format="json",
    )
    assert fine.status_code == 200 and report.status_code == 422
