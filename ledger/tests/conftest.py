"""Ledger fixtures: the fake provider on loopback, a project policy, credentials whose secrets
are in the project's namespace of the environment, and the project's signing secret."""

from datetime import timedelta

import pytest
from django.utils import timezone

from autopack_site.models import Role
from autopack_site.project_secrets import secret_variable
from autopack_site.services import signing_secret_rotate
from conftest import agent_client
from ledger.fakeprovider.server import FakeProviderServer
from ledger.models import ProviderCredential
from policies.services import policy_save_snapshot
from tests.factories import make_key, make_member

# Provider → (secret name, value); the webhook signs with the project's signing secret.
SECRETS = {
    "alpaca": ("ALPACA_KEY", "PKTESTKEY:alpaca-canary-secret-9f8e7d6c5b4a"),
    "shopify": ("SHOPIFY_TOKEN", "shpat_canary_secret_0123456789abcdef"),
    "youtube": ("YOUTUBE_TOKEN", "ya29.canary-secret-youtube-0123456789"),
    "etsy": ("ETSY_KEY", "etsy-canary-secret-0123456789abcdef"),
}
CANARIES = [value.split(":")[-1] for _name, value in SECRETS.values()]


def secret_environment(project) -> dict[str, str]:
    """The variables holding the test secrets in ``project``'s namespace."""
    return {secret_variable(project.slug, name): value for name, value in SECRETS.values()}


POLICY = {
    "safety_profile": "normal",
    "first_run_requires_approval": False,
    "action_rules": [
        {
            "provider_glob": "alpaca",
            "action_glob": "orders.create",
            "effect": "allow",
            "max_amount": "1000",
        },
        {"provider_glob": "shopify", "action_glob": "*", "effect": "require_approval"},
        {"provider_glob": "youtube", "action_glob": "*", "effect": "require_approval"},
        {
            "provider_glob": "etsy",
            "action_glob": "*",
            "effect": "deny",
            "description": "No Etsy listings from agents.",
        },
        {"provider_glob": "webhook", "action_glob": "send", "effect": "allow"},
    ],
}

SCOPES = {
    "alpaca": ["trading"],
    "shopify": ["write_products"],
    "youtube": ["youtube.upload"],
    "etsy": ["listings_w"],
    "webhook": [],
}


@pytest.fixture
def fake_provider(monkeypatch, settings):
    server = FakeProviderServer(port=0)
    server.start()
    settings.AUTOPACK_PROVIDER_URLS = {provider: server.url for provider in SCOPES}
    settings.AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS = 5
    # the fake is on loopback: webhooks (whose targets agents choose) may reach it, nothing else
    settings.AUTOPACK_OUTBOUND_ALLOW = [server.url]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ledger_project(project, fake_provider, monkeypatch):
    policy_save_snapshot(project=project, snapshot=POLICY, editor=None, reason="ledger tests")
    for name, value in secret_environment(project).items():
        monkeypatch.setenv(name, value)
    for provider, scopes in SCOPES.items():
        credential = ProviderCredential(
            project=project,
            provider=provider,
            name=f"{provider}-test",
            environment="sandbox",
            scopes=scopes,
            allowed_actions=["*"],
            secret_name=SECRETS[provider][0] if provider in SECRETS else "",
            rotated_at=timezone.now() - timedelta(days=3),
        )
        credential.full_clean()
        credential.save()
    signing_secret_rotate(project=project)
    return project


@pytest.fixture
def signing_secret(ledger_project) -> str:
    """The secret that signs the project's webhooks now (a fresh one, so the test knows it)."""
    _row, plaintext = signing_secret_rotate(project=ledger_project, immediately=True)
    return plaintext


@pytest.fixture
def actor(ledger_project):
    return agent_client(make_key(ledger_project, scopes=["read", "actions:write"]))


@pytest.fixture
def approver(ledger_project):
    return make_member(ledger_project, Role.OPERATOR)


def order(symbol="AAPL", qty="1", limit_price="100.00", **extra):
    return {
        "symbol": symbol,
        "qty": qty,
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": limit_price,
        **extra,
    }


def product(title="Autopack mug", **extra):
    return {
        "title": title,
        "body_html": "<p>A mug.</p>",
        "vendor": "Autopack",
        "product_type": "Mug",
        "tags": ["demo"],
        "status": "draft",
        **extra,
    }


def propose(client, key, provider, action, payload, **extra):
    return client.post(
        "/api/v1/actions",
        {"provider": provider, "action": action, "payload": payload, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.fixture(autouse=True)
def _without_the_trading_gate(monkeypatch):
    """The ledger's tests use Alpaca orders as their example of a trade. The risk gate that
    trading registers in front of every Alpaca order is proven in trading/tests
    (test_ledger_gate.py); here the ledger is tested on its own."""
    from ledger import guards

    kept = {name: g for name, g in guards._guards.items() if name != "trading.risk_gate"}
    monkeypatch.setattr(guards, "_guards", kept)
