"""Etsy Open API v3: createDraftListing; our reference is the listing's SKU, looked up among
the shop's draft listings."""

from decimal import Decimal
from typing import Literal

from pydantic import Field

from ledger.providers.base import (
    ActionPayload,
    LookupResult,
    PreparedRequest,
    ProviderAdapter,
    SideEffect,
    get_json,
)


class DraftListing(ActionPayload):
    shop_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=999)
    title: str = Field(min_length=1, max_length=140)
    description: str = Field(min_length=1, max_length=50_000)
    price: Decimal = Field(gt=0, max_digits=10, decimal_places=2)
    who_made: Literal["i_did", "someone_else", "collective"]
    when_made: str = Field(min_length=1, max_length=20)
    taxonomy_id: int = Field(gt=0)


def _headers(secret: str) -> dict[str, str]:
    api_key, _, token = secret.partition(":")
    headers = {"x-api-key": api_key, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class EtsyAdapter(ProviderAdapter):
    name = "etsy"
    actions = {"listings.create_draft": DraftListing}
    dedupes_by_reference = False
    default_base_url = "https://openapi.etsy.com"
    # the provider's public token endpoint, not a secret:
    oauth_token_url = "https://api.etsy.com/v3/public/oauth/token"  # nosec B105

    def _listings(self, ctx, shop_id: int) -> str:
        return f"{ctx.base_url.rstrip('/')}/v3/application/shops/{shop_id}/listings"

    def prepare(self, action, payload: DraftListing, *, reference, ctx):
        body = {
            "quantity": payload.quantity,
            "title": payload.title,
            "description": payload.description,
            "price": str(payload.price),
            "who_made": payload.who_made,
            "when_made": payload.when_made,
            "taxonomy_id": payload.taxonomy_id,
            "skus": [reference],
        }
        return PreparedRequest(
            method="POST",
            url=self._listings(ctx, payload.shop_id),
            headers=_headers(ctx.secret),
            body=body,
            secret_headers=("x-api-key", "Authorization"),
        )

    def side_effects(self, action, payload: DraftListing):
        return [
            SideEffect(
                type="create",
                target=f"draft listing {payload.title!r} in shop {payload.shop_id}",
                reversible=True,
                estimated_cost=Decimal("0.20"),  # Etsy's listing fee
            )
        ]

    def reference_of(self, action, body) -> str:
        return str(body.get("listing_id", ""))

    def summary_of(self, action, body):
        return {"listing_id": body.get("listing_id"), "state": body.get("state")}

    def lookup(self, action, payload: DraftListing, *, reference, ctx) -> LookupResult:
        response = get_json(
            self._listings(ctx, payload.shop_id),
            _headers(ctx.secret),
            ctx,
            trusted=self.trusted_urls(ctx),
            params={"state": "draft", "limit": 100},
        )
        body = self.check(response)
        for listing in body.get("results", []):
            if reference in (listing.get("skus") or []):
                return LookupResult(
                    state="found",
                    provider_reference=str(listing["listing_id"]),
                    summary=self.summary_of(action, listing),
                )
        return LookupResult(state="absent")
