"""Ledger settings, read from the environment (documented in docs/operations.md)."""

from dataclasses import dataclass

from autopack_site.env import env_int, env_str

# Calls per minute per provider, shared by all workers (AUTOPACK_RATE_LIMIT_<PROVIDER>).
DEFAULT_RATE_LIMITS = {"youtube": 60, "etsy": 300, "shopify": 120, "alpaca": 180, "webhook": 600}

# Rotation policy per provider: (rotate soon after, refuse after) in days.
ROTATION_DAYS = {
    "youtube": (90, 180),
    "etsy": (60, 90),
    "shopify": (365, 400),
    "alpaca": (90, 180),
    "webhook": (180, 365),
}

# Scopes a credential must carry for an action (provider → action → scopes).
REQUIRED_SCOPES = {
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
        return env_int(
            f"AUTOPACK_RATE_LIMIT_{provider.upper()}", DEFAULT_RATE_LIMITS.get(provider, 60)
        )

    def base_url(self, provider: str) -> str:
        return env_str(f"AUTOPACK_PROVIDER_URL_{provider.upper()}", "")


def ledger_settings() -> LedgerSettings:
    return LedgerSettings(
        lease_seconds=env_int("AUTOPACK_ACTION_LEASE_SECONDS", 120),
        call_timeout_seconds=env_int("AUTOPACK_ACTION_CALL_TIMEOUT_SECONDS", 20),
        max_attempts=env_int("AUTOPACK_ACTION_MAX_ATTEMPTS", 5),
        inline_retry_max_seconds=env_int("AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS", 30),
        environment=env_str("AUTOPACK_PROVIDER_ENVIRONMENT", "sandbox"),
        idempotency_wait_ms=env_int("AUTOPACK_IDEMPOTENCY_WAIT_MS", 2000),
        reconcile_grace_seconds=env_int("AUTOPACK_ACTION_RECONCILE_GRACE_SECONDS", 10),
    )
