"""An order is valued at what it may really cost, and the policy's amount limit sees that value."""

import pytest

from ledger.tests.conftest import order, propose

pytestmark = pytest.mark.django_db

# The ledger policy allows alpaca orders.create up to an amount of 1000.


def market(qty: str, **extra) -> dict:
    payload = order(qty=qty, type="market", **extra)
    payload.pop("limit_price")
    return payload


def test_a_market_order_needs_a_reference_price(actor):
    response = propose(actor, "m-0", "alpaca", "orders.create", market("5"))
    assert response.status_code == 422
    assert "reference_price" in response.json()["error"]["details"]["fields"][0]["message"]


@pytest.mark.parametrize("price", ["0", "-1"])
def test_a_reference_price_must_be_positive(actor, price):
    response = propose(
        actor, f"m{price}", "alpaca", "orders.create", market("5", reference_price=price)
    )
    assert response.status_code == 422


def test_a_market_order_is_valued_at_qty_times_reference_price(actor):
    small = propose(actor, "m-1", "alpaca", "orders.create", market("5", reference_price="150"))
    assert small.status_code == 201
    assert small.json()["decision"]["outcome"] == "allow"  # 750 <= 1000
    big = propose(actor, "m-2", "alpaca", "orders.create", market("10", reference_price="150"))
    assert big.json()["decision"]["outcome"] == "require_approval"  # 1500 > 1000
    assert "1500" in str(big.json()["decision"]["reasons"])
    assert big.json()["side_effects"][0]["estimated_cost"].startswith("1500")


def test_an_absurd_limit_price_cannot_hide_a_buy_under_the_limit(actor):
    cheap_limit = order(qty="10", limit_price="0.01", reference_price="150")
    response = propose(actor, "l-1", "alpaca", "orders.create", cheap_limit)
    assert response.json()["decision"]["outcome"] == "require_approval"  # 10 x 150, not 10 x 0.01


def test_a_limit_order_without_a_reference_price_is_valued_at_its_limit(actor):
    response = propose(actor, "l-2", "alpaca", "orders.create", order(qty="5", limit_price="100"))
    assert response.json()["decision"]["outcome"] == "allow"
    response = propose(actor, "l-3", "alpaca", "orders.create", order(qty="20", limit_price="100"))
    assert response.json()["decision"]["outcome"] == "require_approval"


def test_the_reference_price_is_not_sent_to_alpaca(actor):
    response = propose(
        actor, "m-3", "alpaca", "orders.create", market("1", reference_price="10"), dry_run=True
    )
    assert "reference_price" not in response.json()["rendered_request"]["body"]


@pytest.mark.parametrize(
    "payload",
    [
        # the review's reproductions: each slipped under max_amount=1000 at 0.0001 a share
        {"type": "market", "limit_price": "0.0001", "reference_price": "200"},
        {"type": "market", "limit_price": "0.0001"},
        {"type": "stop", "limit_price": "0.0001"},
        {"side": "sell", "type": "limit", "limit_price": "0.0001"},
    ],
)
def test_a_price_that_hides_an_order_under_the_amount_limit_is_refused(actor, payload):
    body = {**order(qty="100000"), **payload}
    response = propose(actor, f"hide-{len(str(payload))}", "alpaca", "orders.create", body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"


def test_a_sell_is_valued_at_its_reference_price(actor):
    sell = order(qty="100000", side="sell", limit_price="0.0001", reference_price="200")
    response = propose(actor, "sell-1", "alpaca", "orders.create", sell)
    assert response.json()["decision"]["outcome"] != "allow"
