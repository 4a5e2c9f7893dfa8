"""API bodies for the risk gate. Amounts are decimal strings."""

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from autopack_site.api.inputs import DisplayText, JsonObject, StrictIn, decimal_string

Qty = decimal_string(whole_digits=9, places=9)
Price = decimal_string(whole_digits=12, places=4)
MAX_ORDER_VALUE = Decimal(10) ** 14
Symbol = Field(min_length=1, max_length=12, pattern=r"^[A-Z0-9.\-/]+$")
ClientOrderId = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")


class OrderCheckIn(StrictIn):
    client_order_id: str = ClientOrderId
    symbol: str = Symbol
    side: Literal["buy", "sell"]
    qty: Qty
    order_type: Literal["market", "limit", "stop", "stop_limit"]
    limit_price: Price | None = None
    reference_price: Price
    strategy_version: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")

    @model_validator(mode="after")
    def _value_fits(self):
        """qty x price is stored as money (14 whole digits): a larger order is refused here, as
        a 422, rather than by the database."""
        price = max(Decimal(self.limit_price or 0), Decimal(self.reference_price))
        if Decimal(self.qty) * price >= MAX_ORDER_VALUE:
            raise ValueError(f"the order's value (qty x price) must be below {MAX_ORDER_VALUE:,}")
        return self


class ReasonOut(BaseModel):
    code: str
    message: str
    limit: str | None
    actual: str | None
    hint: str


class OrderCheckOut(BaseModel):
    allowed: bool
    decision_id: int | None = Field(description="None for a preview (nothing is reserved).")
    client_order_id: str
    effective_mode: Literal["disabled", "paper", "live"]
    order_value: str
    status: str | None
    reasons: list[ReasonOut]
    remaining: dict[str, str | None]
    replayed: bool = False


class OrderReportIn(StrictIn):
    client_order_id: str = ClientOrderId
    event: Literal["submitted", "partially_filled", "filled", "cancelled", "rejected"]
    filled_qty: Qty | None = None
    fill_price: Price | None = None

    @model_validator(mode="after")
    def _value_fits(self):
        filled = self.filled_qty is not None and self.fill_price is not None
        if filled and Decimal(self.filled_qty) * Decimal(self.fill_price) >= MAX_ORDER_VALUE:
            raise ValueError(f"the fill's value must be below {MAX_ORDER_VALUE:,}")
        return self


class EquityIn(StrictIn):
    equity: Price


class KillSwitchIn(StrictIn):
    engaged: bool
    reason: DisplayText = Field(min_length=1, max_length=500)


class KillSwitchOut(BaseModel):
    engaged: bool
    reason: str
    changed_by: str


class StrategyIn(StrictIn):
    version: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    content: JsonObject


class StrategyOut(BaseModel):
    id: int
    version: str
    content_hash: str
    approved: bool
    approval_id: int | None


class AccountOut(BaseModel):
    id: int
    name: str
    broker: str
    mode: str
    state: str
    kill_switch_engaged: bool
    trading_date: str
    limits: dict
    today: dict[str, str | None]
    current_strategy: str | None


class AccountsOut(BaseModel):
    accounts: list[AccountOut]
