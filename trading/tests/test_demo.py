"""The demo project can trade on paper: its Alpaca credential backs a paper account whose
checks pass with the default limits, and a second start adds no second account."""

from decimal import Decimal

import pytest

from autopack_site.demo import demo_seed
from trading.models import Mode, TradingAccount
from trading.services import OrderRequest, order_check

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_paper_account_on_its_alpaca_credential():
    demo_seed()
    demo_seed()
    account = TradingAccount.objects.get(project__slug="demo")
    assert account.mode == Mode.PAPER
    assert account.paper_credential.provider == "alpaca"
    decision, _ = order_check(
        account=account,
        request=OrderRequest(
            client_order_id="demo-1",
            symbol="AAPL",
            side="buy",
            qty=Decimal("1"),
            order_type="market",
            reference_price=Decimal("50"),
            strategy_version="demo",
        ),
        key=None,
        actor="test",
    )
    assert decision.allowed, decision.reasons
