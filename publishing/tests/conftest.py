"""Publishing fixtures: the ledger's (fake provider on loopback, credentials, an agent and an
operator) with a policy that allows publishing once its conditions hold."""

import pytest
from django.test import TestCase

from approvals.services import approval_decide
from ledger.tests.conftest import (  # noqa: F401  (fixtures)
    _without_the_trading_gate,  # the switch's tests use Alpaca orders as their trade
    actor,
    approver,
    fake_provider,
    ledger_project,
    propose,
)
from policies.services import policy_save_snapshot
from publishing.models import PolicySource, PublishPacket
from publishing.tests.policy_server import PolicyServer, page

POLICY = {
    "safety_profile": "normal",
    "first_run_requires_approval": False,
    "action_rules": [
        {
            "provider_glob": "youtube",
            "action_glob": "videos.insert",
            "effect": "allow",
            "publish_packet_required": True,
        },
        {
            "provider_glob": "shopify",
            "action_glob": "products.*",
            "effect": "allow",
            "publish_packet_required": True,
        },
        {"provider_glob": "etsy", "action_glob": "*", "effect": "allow"},
        {"provider_glob": "alpaca", "action_glob": "orders.create", "effect": "allow"},
        {"provider_glob": "webhook", "action_glob": "send", "effect": "allow"},
    ],
}


@pytest.fixture
def publishing_project(ledger_project):  # noqa: F811
    policy_save_snapshot(
        project=ledger_project, snapshot=POLICY, editor=None, reason="publishing tests"
    )
    return ledger_project


def packet_body(**extra):
    return {
        "provider": "youtube",
        "action": "videos.insert",
        "title": "How we pack mugs",
        "description": "A short film about packing.",
        "tags": ["mugs", "packing"],
        "media": [{"sha256": "ab" * 32, "size": 1048576, "mime_type": "video/mp4"}],
        "ai_generated": False,
        "target": "UC-autopack",
        **extra,
    }


def video(packet: dict | None = None, **snippet):
    body = {
        "snippet": {
            "title": "How we pack mugs",
            "description": "A short film about packing.",
            "tags": ["mugs", "packing"],
            **snippet,
        },
        "status": {"privacyStatus": "public"},
    }
    if packet is not None:
        body["publish_packet"] = packet
    return body


def approve(packet_id: int, user) -> PublishPacket:
    packet = PublishPacket.objects.get(pk=packet_id)
    with TestCase.captureOnCommitCallbacks(execute=True):
        approval_decide(
            request_id=packet.approval_id,
            user=user,
            approve=True,
            payload_hash_seen=packet.approval.payload_hash,
        )
    packet.refresh_from_db()
    return packet


def submit(client, **extra) -> dict:
    response = client.post("/api/v1/publish-packets", packet_body(**extra), format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def pages(settings):
    server = PolicyServer()
    # the server is on loopback: only an operator-configured origin may be, like the fake
    settings.AUTOPACK_OUTBOUND_ALLOW = [*settings.AUTOPACK_OUTBOUND_ALLOW, server.url]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sources(publishing_project, pages):
    made = []
    for name, path in (("Community guidelines", "/community"), ("Synthetic media", "/ai")):
        pages.pages.set(path, page(f"{name}: be kind.", "No spam.", noise="v1"))
        made.append(
            PolicySource.objects.create(
                project=publishing_project,
                provider="youtube",
                name=name,
                url=pages.url + path,
                category="community_guidelines",
                selector="#content",
            )
        )
    return made
