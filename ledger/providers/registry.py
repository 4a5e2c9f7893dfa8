"""Every provider adapter, by name, and their default base URLs."""

from ledger.providers.alpaca import AlpacaAdapter
from ledger.providers.base import ProviderAdapter
from ledger.providers.etsy import EtsyAdapter
from ledger.providers.shopify import ShopifyAdapter
from ledger.providers.webhook import WebhookAdapter
from ledger.providers.youtube import YouTubeAdapter

ADAPTERS: dict[str, ProviderAdapter] = {
    adapter.name: adapter
    for adapter in (
        WebhookAdapter(),
        YouTubeAdapter(),
        EtsyAdapter(),
        ShopifyAdapter(),
        AlpacaAdapter(),
    )
}

DEFAULT_BASE_URLS = {
    "youtube": "https://www.googleapis.com",
    "etsy": "https://openapi.etsy.com",
    "shopify": "https://example.myshopify.com",
    "alpaca": "https://paper-api.alpaca.markets",
    "webhook": "",
}


def get_adapter(name: str) -> ProviderAdapter:
    return ADAPTERS[name]


def default_base_url(name: str) -> str:
    return DEFAULT_BASE_URLS.get(name, "")
