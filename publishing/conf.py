"""The publishing app's settings (autopack_site/settings.py), read at use so tests may change
them; what each provider's rules demand of a packet."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

# Publishing and listing actions: they need fresh provider rules and (when they carry one, or
# the policy asks for one) an approved publish packet.
PUBLISHING_ACTIONS: dict[str, frozenset[str]] = {
    "youtube": frozenset({"videos.insert"}),
    "etsy": frozenset({"listings.create_draft", "listings.update"}),
    "shopify": frozenset({"products.create", "products.update"}),
}

# Providers whose rules require AI-generated content to say so (YouTube's altered or synthetic
# content disclosure; Etsy's creativity standards): a packet flagged ai_generated whose
# description lacks a disclosure text is blocked.
AI_DISCLOSURE_REQUIRED = frozenset({"youtube", "etsy"})
DEFAULT_AI_DISCLOSURES = (
    "AI-generated",
    "generated with AI",
    "made with AI",
    "altered or synthetic content",
)


def is_publishing(provider: str, action: str) -> bool:
    return action in PUBLISHING_ACTIONS.get(provider, ())


@dataclass(frozen=True)
class PublishingSettings:
    fetch_every: timedelta
    stale_after: timedelta
    alert_after_failures: int
    fetch_timeout: float


def publishing_settings() -> PublishingSettings:
    return PublishingSettings(
        fetch_every=timedelta(hours=settings.AUTOPACK_POLICY_FETCH_HOURS),
        stale_after=timedelta(days=settings.AUTOPACK_POLICY_STALE_DAYS),
        alert_after_failures=settings.AUTOPACK_POLICY_ALERT_FAILURES,
        fetch_timeout=float(settings.AUTOPACK_POLICY_FETCH_TIMEOUT_SECONDS),
    )
