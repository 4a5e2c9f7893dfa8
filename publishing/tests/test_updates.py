"""The update actions (Etsy listings.update, Shopify products.update) through the adapters and
the fake provider, bound to their packets like the create actions; lookups after an unknown
outcome find an update that already landed."""

import pytest

from ledger.models import ActionStatus
from ledger.providers.registry import get_adapter
from ledger.services import action_execute
from publishing.tests.conftest import approve, propose, submit

pytestmark = pytest.mark.django_db


def _listing(**extra):
    return {
        "shop_id": 7,
        "quantity": 1,
        "title": "Mug",
        "description": "A mug.",
        "price": "12.00",
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1,
        **extra,
    }


def _packet(actor, approver, **content):
    packet = submit(actor, **content)
    return approve(packet["id"], approver).pk, packet["reference"]


def test_an_etsy_listing_is_created_then_updated_each_with_its_packet(
    actor, approver, publishing_project, fake_provider
):
    _id, ref = _packet(
        actor,
        approver,
        provider="etsy",
        action="listings.create_draft",
        title="Mug",
        description="A mug.",
        tags=[],
        target="7",
    )
    created = propose(actor, "e-1", "etsy", "listings.create_draft", _listing(publish_packet=ref))
    assert created.json()["status"] == "approved", created.json()["decision"]
    assert action_execute(created.json()["id"]) == ActionStatus.SUCCEEDED
    listing_id = fake_provider.state_snapshot()["created"]["etsy"][0]["listing_id"]

    _id, ref = _packet(
        actor,
        approver,
        provider="etsy",
        action="listings.update",
        title="Blue mug",
        description="A blue mug.",
        tags=["blue"],
        target="7",
    )
    update = {
        "shop_id": 7,
        "listing_id": listing_id,
        "title": "Blue mug",
        "description": "A blue mug.",
        "tags": ["blue"],
        "publish_packet": ref,
    }
    other_shop = propose(actor, "e-2", "etsy", "listings.update", {**update, "shop_id": 8}).json()
    assert other_shop["status"] == "denied"  # the packet reviewed shop 7
    body = propose(actor, "e-3", "etsy", "listings.update", update).json()
    assert body["status"] == "approved"
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    listing = fake_provider.state_snapshot()["created"]["etsy"][0]
    assert (listing["title"], listing["tags"]) == ("Blue mug", ["blue"])


def test_a_shopify_product_update_is_bound_to_its_packet(
    actor, approver, publishing_project, fake_provider
):
    _id, ref = _packet(
        actor,
        approver,
        provider="shopify",
        action="products.create",
        title="Mug",
        description="<p>A mug.</p>",
        tags=["demo"],
    )
    product = {"title": "Mug", "body_html": "<p>A mug.</p>", "tags": ["demo"]}
    body = propose(
        actor, "s-1", "shopify", "products.create", {**product, "publish_packet": ref}
    ).json()
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    gid = fake_provider.state_snapshot()["created"]["shopify"][0]["id"]
    _id, ref = _packet(
        actor,
        approver,
        provider="shopify",
        action="products.update",
        title="Mug v2",
        description="<p>Better.</p>",
        tags=[],
    )
    update = {"id": gid, "title": "Mug v2", "body_html": "<p>Better.</p>", "publish_packet": ref}
    denied = propose(
        actor, "s-2", "shopify", "products.update", {**update, "body_html": "<p>Other</p>"}
    ).json()
    assert denied["status"] == "denied"
    body = propose(actor, "s-3", "shopify", "products.update", update).json()
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    node = fake_provider.state_snapshot()["created"]["shopify"][0]
    assert (node["title"], node["descriptionHtml"]) == ("Mug v2", "<p>Better.</p>")
    # a lookup (after an unknown outcome) sees that the update landed
    from ledger.models import ExternalAction
    from ledger.providers.base import ProviderContext

    adapter = get_adapter("shopify")
    action = ExternalAction.objects.get(pk=body["id"])
    found = adapter.lookup(
        "products.update",
        adapter.validate("products.update", action.payload),
        reference=action.reference,
        ctx=ProviderContext(base_url=fake_provider.url, secret="x"),
    )
    assert found.state == "found" and found.provider_reference == gid
