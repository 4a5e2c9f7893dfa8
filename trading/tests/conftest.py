"""Trading fixtures: a paper account with roomy limits (each test tightens what it proves) and
an agent holding trading:write."""

from decimal import Decimal

import pytest

from conftest import agent_client
from tests.factories import make_key
from trading.models import Mode
from trading.services import account_create

ROOMY = {
    "max_order_value": Decimal("100000"),
    "max_position_value": Decimal("100000"),
    "max_orders_per_day": 1000,
    "max_daily_loss": Decimal("100000"),
    "max_exposure": Decimal("1000000"),
    "max_orders_per_minute": 1000,
    "price_band_pct": Decimal("5"),
}


def make_account(project, *, mode=Mode.PAPER, name="main", **limits):
    settings = {**ROOMY, **limits}
    return account_create(project=project, name=name, mode=mode, actor="test", **settings)


@pytest.fixture
def account(project):
    return make_account(project)


@pytest.fixture
def trader(project):
    return agent_client(make_key(project, scopes=["read", "trading:write"]))


def order(client_order_id="o-1", **overrides):
    body = {
        "client_order_id": client_order_id,
        "symbol": "AAPL",
        "side": "buy",
        "qty": "1",
        "order_type": "market",
        "reference_price": "100.00",
        "strategy_version": "s1",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def check(client, account, client_order_id="o-1", **body):
    return client.post(
        f"/api/v1/trading/accounts/{account.pk}/orders/check",
        order(client_order_id, **body),
        format="json",
    )
