"""Every provider adapter, by name."""

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


def get_adapter(name: str) -> ProviderAdapter:
    return ADAPTERS[name]


def default_base_url(name: str) -> str:
    adapter = ADAPTERS.get(name)
    return adapter.default_base_url if adapter else ""
