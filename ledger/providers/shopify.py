"""Shopify Admin GraphQL API: productCreate; our reference rides as the tag autopack:<ref>,
looked up with products(query: "tag:...")."""

from typing import Literal

from pydantic import Field

from ledger.providers.base import (
    ActionPayload,
    LookupResult,
    PreparedRequest,
    ProviderAdapter,
    ProviderContext,
    Rejected,
    SideEffect,
    get_json,
)

API_VERSION = "2024-10"
CREATE = """mutation productCreate($product: ProductCreateInput!) {
  productCreate(product: $product) { product { id title handle } userErrors { field message } }
}"""
FIND = """query findByTag($query: String!) {
  products(first: 1, query: $query) { edges { node { id title handle } } }
}"""


class ProductCreate(ActionPayload):
    title: str = Field(min_length=1, max_length=255)
    body_html: str = Field(default="", max_length=50_000)
    vendor: str = Field(default="", max_length=255)
    product_type: str = Field(default="", max_length=255)
    tags: list[str] = Field(default_factory=list, max_length=50)
    status: Literal["draft", "active", "archived"] = "draft"


def _tag(reference: str) -> str:
    return f"autopack:{reference}"


class ShopifyAdapter(ProviderAdapter):
    name = "shopify"
    actions = {"products.create": ProductCreate}
    dedupes_by_reference = False
    default_base_url = "https://example.myshopify.com"

    def _url(self, ctx: ProviderContext) -> str:
        return f"{ctx.base_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"

    def _headers(self, ctx: ProviderContext) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Shopify-Access-Token": ctx.secret}

    def prepare(self, action, payload: ProductCreate, *, reference, ctx):
        product = {
            "title": payload.title,
            "descriptionHtml": payload.body_html,
            "vendor": payload.vendor,
            "productType": payload.product_type,
            "tags": [*payload.tags, _tag(reference)],
            "status": payload.status.upper(),
        }
        return PreparedRequest(
            method="POST",
            url=self._url(ctx),
            headers=self._headers(ctx),
            body={"query": CREATE, "variables": {"product": product}},
            secret_headers=("X-Shopify-Access-Token",),
        )

    def side_effects(self, action, payload: ProductCreate):
        publish = payload.status == "active"
        return [
            SideEffect(
                type="publish" if publish else "create",
                target=f"product {payload.title!r} ({payload.status})",
                reversible=True,
            )
        ]

    def check(self, response):
        body = super().check(response)
        result = (body.get("data") or {}).get("productCreate")
        errors = (result or {}).get("userErrors") or body.get("errors")
        if errors:
            raise Rejected(f"Shopify refused: {str(errors)[:200]}", status=response.status_code)
        return body

    def reference_of(self, action, body) -> str:
        product = body["data"]["productCreate"]["product"]
        return str(product["id"])

    def summary_of(self, action, body):
        product = body["data"]["productCreate"]["product"]
        return {"id": product["id"], "handle": product.get("handle")}

    def lookup(self, action, payload, *, reference, ctx) -> LookupResult:
        query = {"query": FIND, "variables": {"query": f"tag:'{_tag(reference)}'"}}
        response = get_json(
            self._url(ctx), self._headers(ctx), ctx, trusted=self.trusted_urls(ctx), body=query
        )
        body = super().check(response)
        edges = body["data"]["products"]["edges"]
        if not edges:
            return LookupResult(state="absent")
        node = edges[0]["node"]
        return LookupResult(state="found", provider_reference=node["id"], summary=node)
