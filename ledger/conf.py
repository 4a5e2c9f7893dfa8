"""The ledger's tunables as one typed view of Django settings (autopack_site/settings.py reads
them from the environment; tests override them with override_settings), plus the fixed tables
of provider rules."""

from dataclasses import dataclass

from django.conf import settings

# Rotation policy per provider: (rotate soon after, refuse after) in days.
ROTATION_DAYS = {
    "youtube": (90, 180),
    "etsy": (60, 90),
    "shopify": (365, 400),
    "alpaca": (90, 180),
    "webhook": (180, 365),
}

# Scopes a credential must carry for an action (provider → action → scopes).
REQUIRED_SCOPES: dict[str, dict[str, list[str]]] = {
    "youtube": {"videos.insert": ["youtube.upload"]},
    "etsy": {"listings.create_draft": ["listings_w"]},
    "shopify": {"products.create": ["write_products"]},
    "alpaca": {"orders.create": ["trading"]},
    "webhook": {"send": []},
}


@dataclass(frozen=True)
class LedgerSettings:
    lease_seconds: int
    call_timeout_seconds: int
    max_attempts: int
    inline_retry_max_seconds: int
    environment: str
    idempotency_wait_ms: int
    reconcile_grace_seconds: int

    def rate_limit(self, provider: str) -> int:
        return settings.AUTOPACK_PROVIDER_RATE_LIMITS.get(provider, 60)

    def base_url(self, provider: str) -> str:
        return settings.AUTOPACK_PROVIDER_URLS.get(provider, "")


def ledger_settings() -> LedgerSettings:
    return LedgerSettings(
        lease_seconds=settings.AUTOPACK_ACTION_LEASE_SECONDS,
        call_timeout_seconds=settings.AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS,
        max_attempts=settings.AUTOPACK_ACTION_MAX_ATTEMPTS,
        inline_retry_max_seconds=settings.AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS,
        environment=settings.AUTOPACK_PROVIDER_ENVIRONMENT,
        idempotency_wait_ms=settings.AUTOPACK_IDEMPOTENCY_WAIT_MS,
        reconcile_grace_seconds=settings.AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS,
    )
