"""Concurrent checks on PostgreSQL (real threads, one connection each): the day-row lock makes
limits exact, never exceeded, and replays land on one decision."""

from decimal import Decimal

import pytest

from runs.tests.test_concurrency import run_in_threads
from tests.factories import make_project
from trading.models import AccountDay, OrderDecision
from trading.services import OrderRequest, order_check
from trading.tests.conftest import make_account

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def request(n, **overrides) -> OrderRequest:
    fields = {
        "client_order_id": f"o-{n}",
        "symbol": "AAPL",
        "side": "buy",
        "qty": Decimal("1"),
        "order_type": "market",
        "reference_price": Decimal("100"),
        "strategy_version": "s1",
        **overrides,
    }
    return OrderRequest(**fields)


def test_32_concurrent_checks_with_10_orders_a_day_allow_exactly_10():
    account = make_account(make_project("race-count"), max_orders_per_day=10, runaway_denials=1000)
    results = run_in_threads(
        32, lambda n: order_check(account=account, request=request(n), key=None, actor="t")
    )
    allowed = [decision for decision, _ in results if decision.allowed]
    assert len(allowed) == 10
    assert AccountDay.objects.get(account=account).orders_today == 10
    denied = {r["code"] for d, _ in results if not d.allowed for r in d.reasons}
    assert denied == {"DAILY_ORDER_COUNT_REACHED"}


def test_concurrent_checks_never_push_exposure_over_its_limit():
    account = make_account(
        make_project("race-exposure"),
        max_exposure=Decimal("1000"),
        max_position_value=Decimal("100000"),
    )
    results = run_in_threads(
        24,
        lambda n: order_check(
            account=account,
            request=request(n, symbol=f"S{n % 4}", qty=Decimal("1.5")),
            key=None,
            actor="t",
        ),
    )
    allowed = [d for d, _ in results if d.allowed]
    day = AccountDay.objects.get(account=account)
    assert day.reserved_value == sum(d.reserved_value for d in allowed)
    assert day.exposure <= Decimal("1000")
    assert len(allowed) == 6  # 6 x 150 = 900; a 7th would be 1050


def test_concurrent_replays_of_one_client_order_id_return_one_decision():
    account = make_account(make_project("race-replay"))
    results = run_in_threads(
        16, lambda n: order_check(account=account, request=request(0), key=None, actor="t")
    )
    assert len({decision.pk for decision, _ in results}) == 1
    assert sum(1 for _, replayed in results if not replayed) == 1
    assert OrderDecision.objects.filter(account=account).count() == 1
    assert AccountDay.objects.get(account=account).orders_today == 1
