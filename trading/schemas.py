"""API bodies for the risk gate. Amounts are decimal strings."""

from typing import Literal

from pydantic import BaseModel, Field

from autopack_site.api.inputs import DisplayText, JsonObject, StrictIn, decimal_string

Qty = decimal_string(whole_digits=9, places=9)
Price = decimal_string(whole_digits=12, places=4)
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
