"""Alpaca Trading API: POST /v2/orders with our reference as client_order_id (Alpaca refuses a
duplicate client_order_id, so a 5xx is safe to retry); lookup by client_order_id."""

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from ledger.providers.base import (
    ActionPayload,
    LookupResult,
    PreparedRequest,
    ProviderAdapter,
    ProviderContext,
    SideEffect,
    get_json,
)


class OrderCreate(ActionPayload):
    symbol: str = Field(min_length=1, max_length=12, pattern=r"^[A-Z0-9.\-/]+$")
    qty: Decimal = Field(gt=0, max_digits=18, decimal_places=9)
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit"]
    time_in_force: Literal["day", "gtc", "opg", "cls", "ioc", "fok"]
    limit_price: Decimal | None = Field(default=None, gt=0, max_digits=18, decimal_places=4)
    # What the agent believes one share costs now; never sent to Alpaca. The order is valued
    # with it, so a market order (no limit price) or an absurd limit price cannot slip under a
    # policy's amount limit.
    reference_price: Decimal | None = Field(default=None, gt=0, max_digits=18, decimal_places=4)
    # The allowed pre-trade check this order was placed under (trading's risk gate refuses an
    # order without one) and its client_order_id, which Alpaca receives as the order's.
    decision_id: int | None = Field(default=None, gt=0)
    client_order_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$"
    )

    @model_validator(mode="after")
    def _prices_present(self):
        if self.type in ("limit", "stop_limit") and self.limit_price is None:
            raise ValueError("limit_price is required for limit and stop_limit orders")
        if self.type in ("market", "stop") and self.limit_price is not None:
            raise ValueError("limit_price is only for limit and stop_limit orders")
        if self.reference_price is None and (
            self.type in ("market", "stop") or self.side == "sell"
        ):
            # a buy's limit caps what it spends; a sell at an absurd limit trades at the market
            raise ValueError(
                "reference_price is required for market and stop orders and for every sell: "
                "the order is valued at qty x the higher of its limit and reference prices"
            )
        return self

    def order_value(self) -> Decimal:
        """qty x the highest price the order may trade at as far as we know: the reference
        price for market orders, max(limit, reference) when both are given."""
        prices = [price for price in (self.limit_price, self.reference_price) if price is not None]
        return self.qty * max(prices)


def _auth(secret: str) -> dict[str, str]:
    key_id, _, key_secret = secret.partition(":")
    return {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": key_secret}


class AlpacaAdapter(ProviderAdapter):
    name = "alpaca"
    actions = {"orders.create": OrderCreate}
    dedupes_by_reference = True
    default_base_url = "https://paper-api.alpaca.markets"

    def prepare(self, action, payload: OrderCreate, *, reference, ctx: ProviderContext):
        body = {
            "symbol": payload.symbol,
            "qty": str(payload.qty),
            "side": payload.side,
            "type": payload.type,
            "time_in_force": payload.time_in_force,
            "client_order_id": payload.client_order_id or reference,
        }
        if payload.limit_price is not None:
            body["limit_price"] = str(payload.limit_price)
        return PreparedRequest(
            method="POST",
            url=f"{ctx.base_url.rstrip('/')}/v2/orders",
            headers={"Content-Type": "application/json", **_auth(ctx.secret)},
            body=body,
            secret_headers=("APCA-API-KEY-ID", "APCA-API-SECRET-KEY"),
        )

    def side_effects(self, action, payload: OrderCreate):
        cost = payload.order_value()
        return [
            SideEffect(
                type="trade",
                target=f"{payload.side} {payload.qty} {payload.symbol}",
                reversible=False,
                estimated_cost=cost,
            )
        ]

    def reference_of(self, action, body) -> str:
        return str(body.get("id", ""))

    def summary_of(self, action, body):
        return {key: body.get(key) for key in ("id", "client_order_id", "status", "symbol")}

    def lookup(self, action, payload, *, reference, ctx: ProviderContext) -> LookupResult:
        response = get_json(
            f"{ctx.base_url.rstrip('/')}/v2/orders:by_client_order_id",
            _auth(ctx.secret),
            ctx,
            trusted=self.trusted_urls(ctx),
            params={"client_order_id": payload.client_order_id or reference},
        )
        if response.status_code == 404:
            return LookupResult(state="absent")
        body = self.check(response)
        return LookupResult(
            state="found",
            provider_reference=self.reference_of(action, body),
            summary=self.summary_of(action, body),
        )

    # --- reads for reconciliation (trading compares them with its checks) ---------------------
    def _read(self, ctx: ProviderContext, path: str, params: dict | None = None) -> Any:
        response = get_json(
            f"{ctx.base_url.rstrip('/')}{path}",
            _auth(ctx.secret),
            ctx,
            trusted=self.trusted_urls(ctx),
            params=params,
        )
        return self.check(response)

    def broker_orders(self, ctx: ProviderContext, *, after: str | None = None) -> list[dict]:
        """Every order at the broker (open and closed) created after ``after`` (ISO time),
        newest first, at most 500 (Alpaca's page)."""
        params = {"status": "all", "limit": "500", "direction": "desc"}
        if after:
            params["after"] = after
        body = self._read(ctx, "/v2/orders", params)
        return body if isinstance(body, list) else []

    def broker_positions(self, ctx: ProviderContext) -> list[dict]:
        body = self._read(ctx, "/v2/positions")
        return body if isinstance(body, list) else []

    def broker_account(self, ctx: ProviderContext) -> dict:
        body = self._read(ctx, "/v2/account")
        return body if isinstance(body, dict) else {}
