"""Ledger fixtures: the fake provider on loopback, a project policy, credentials in the env."""

from datetime import timedelta

import pytest
from django.utils import timezone

from autopack_site.models import Role
from conftest import agent_client
from ledger.fakeprovider.server import FakeProviderServer
from ledger.models import ProviderCredential
from policies.services import policy_save_snapshot
from tests.factories import make_key, make_member

SECRETS = {
    "AUTOPACK_TEST_ALPACA": "PKTESTKEY:alpaca-canary-secret-9f8e7d6c5b4a",
    "AUTOPACK_TEST_SHOPIFY": "shpat_canary_secret_0123456789abcdef",
    "AUTOPACK_TEST_WEBHOOK": "whsec-canary-secret-abcdef0123456789",
    "AUTOPACK_TEST_YOUTUBE": "ya29.canary-secret-youtube-0123456789",
    "AUTOPACK_TEST_ETSY": "etsy-canary-secret-0123456789abcdef",
}
CANARIES = [value.split(":")[-1] for value in SECRETS.values()]

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
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings.AUTOPACK_ACTION_INLINE_RETRY_MAX_SECONDS = 5
    monkeypatch.setenv("AUTOPACK_ALLOW_PRIVATE_OUTBOUND", "1")  # the fake is on loopback
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ledger_project(project, fake_provider):
    policy_save_snapshot(project=project, snapshot=POLICY, editor=None, reason="ledger tests")
    for provider, scopes in SCOPES.items():
        ProviderCredential.objects.create(
            project=project,
            provider=provider,
            name=f"{provider}-test",
            environment="sandbox",
            scopes=scopes,
            allowed_actions=["*"],
            secret_ref=f"AUTOPACK_TEST_{provider.upper()}",
            rotated_at=timezone.now() - timedelta(days=3),
        )
    return project


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
