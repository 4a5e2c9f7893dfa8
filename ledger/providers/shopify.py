"""Shopify Admin GraphQL API: productCreate (our reference rides as the tag autopack:<ref>,
looked up with products(query: "tag:...")) and productUpdate (idempotent: a lookup that finds
the product already carrying the new text calls it done)."""

from typing import Literal

from pydantic import Field

from ledger.providers.base import (
    ActionPayload,
    LookupResult,
    PacketRef,
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
UPDATE = """mutation productUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) { product { id title handle } userErrors { field message } }
}"""
GET = """query product($id: ID!) { product(id: $id) { id title handle descriptionHtml } }"""
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
    publish_packet: PacketRef | None = None  # checked here, never sent (docs/publishing.md)


class ProductUpdate(ActionPayload):
    """The product's reviewed text, whole (title and body are always given)."""

    id: str = Field(pattern=r"^gid://shopify/Product/\d+$", max_length=100)
    title: str = Field(min_length=1, max_length=255)
    body_html: str = Field(max_length=50_000)
    tags: list[str] | None = Field(default=None, max_length=50)
    status: Literal["draft", "active", "archived"] | None = None
    publish_packet: PacketRef | None = None


def _tag(reference: str) -> str:
    return f"autopack:{reference}"


class ShopifyAdapter(ProviderAdapter):
    name = "shopify"
    actions = {"products.create": ProductCreate, "products.update": ProductUpdate}
    dedupes_by_reference = False
    default_base_url = "https://example.myshopify.com"

    def _url(self, ctx: ProviderContext) -> str:
        return f"{ctx.base_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"

    def _headers(self, ctx: ProviderContext) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Shopify-Access-Token": ctx.secret}

    def prepare(self, action, payload, *, reference, ctx):
        if action == "products.update":
            product = {
                "id": payload.id,
                "title": payload.title,
                "descriptionHtml": payload.body_html,
            }
            if payload.tags is not None:
                product["tags"] = payload.tags
            if payload.status is not None:
                product["status"] = payload.status.upper()
            return PreparedRequest(
                method="POST",
                url=self._url(ctx),
                headers=self._headers(ctx),
                body={"query": UPDATE, "variables": {"product": product}},
                secret_headers=("X-Shopify-Access-Token",),
            )
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

    def side_effects(self, action, payload):
        if action == "products.update":
            return [
                SideEffect(
                    type="publish" if payload.status == "active" else "update",
                    target=f"product {payload.id} ({payload.title!r})",
                    reversible=True,
                )
            ]
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
        data = body.get("data") or {}
        result = data.get("productCreate") or data.get("productUpdate")
        errors = (result or {}).get("userErrors") or body.get("errors")
        if errors:
            raise Rejected(f"Shopify refused: {str(errors)[:200]}", status=response.status_code)
        return body

    @staticmethod
    def _mutated(action, body) -> dict:
        name = "productUpdate" if action == "products.update" else "productCreate"
        return body["data"][name]["product"]

    def reference_of(self, action, body) -> str:
        return str(self._mutated(action, body)["id"])

    def summary_of(self, action, body):
        product = self._mutated(action, body)
        return {"id": product["id"], "handle": product.get("handle")}

    def lookup(self, action, payload, *, reference, ctx) -> LookupResult:
        if action == "products.update":
            query = {"query": GET, "variables": {"id": payload.id}}
            response = get_json(
                self._url(ctx), self._headers(ctx), ctx, trusted=self.trusted_urls(ctx), body=query
            )
            node = (super().check(response).get("data") or {}).get("product") or {}
            if (node.get("title"), node.get("descriptionHtml")) != (
                payload.title,
                payload.body_html,
            ):
                return LookupResult(state="absent")  # an update is safe to send again
            return LookupResult(
                state="found",
                provider_reference=node["id"],
                summary={"id": node["id"], "handle": node.get("handle")},
            )
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
