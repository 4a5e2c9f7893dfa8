"""Each adapter against the fake provider over loopback HTTP: validate, dry run, execute,
lookup, and how failures are classified."""

import json
import socket
from decimal import Decimal

import pydantic
import pytest

from autopack_site.signing import verify
from ledger.fakeprovider.server import FakeProviderServer
from ledger.providers.base import (
    NotSent,
    OutcomeUnknown,
    ProviderContext,
    ProviderServerError,
    RateLimited,
    Rejected,
    UnknownAction,
)
from ledger.providers.registry import get_adapter

SECRET = "sekret-canary-0123456789abcdef"
PAYLOADS = {
    ("youtube", "videos.insert"): {
        "snippet": {"title": "Launch", "tags": ["demo"]},
        "status": {"privacyStatus": "public"},
    },
    ("etsy", "listings.create_draft"): {
        "shop_id": 7,
        "quantity": 2,
        "title": "Mug",
        "description": "A mug",
        "price": "12.50",
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1,
    },
    ("shopify", "products.create"): {"title": "Mug", "status": "active"},
    ("alpaca", "orders.create"): {
        "symbol": "AAPL",
        "qty": "2",
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "limit_price": "10.50",
    },
}


@pytest.fixture
def fake(settings):
    server = FakeProviderServer().start()
    settings.AUTOPACK_OUTBOUND_ALLOW = [server.url]  # webhook targets are the agent's choice
    yield server
    server.stop()


def ctx(fake, timeout=5.0, secret=SECRET):
    return ProviderContext(base_url=fake.url, secret=secret, timeout=timeout)


@pytest.mark.parametrize(("provider", "action"), list(PAYLOADS))
def test_dry_run_execute_lookup(fake, provider, action):
    adapter = get_adapter(provider)
    payload = adapter.validate(action, PAYLOADS[(provider, action)])
    dry = adapter.dry_run(action, payload, reference="ap-ref-1", ctx=ctx(fake))
    assert SECRET not in json.dumps(dry.model_dump(mode="json"))
    assert dry.request.method == "POST" and dry.request.url.startswith(fake.url)
    assert dry.side_effects
    assert adapter.lookup(action, payload, reference="ap-ref-1", ctx=ctx(fake)).state == "absent"
    result = adapter.execute(action, payload, reference="ap-ref-1", ctx=ctx(fake))
    assert result.provider_reference
    found = adapter.lookup(action, payload, reference="ap-ref-1", ctx=ctx(fake))
    assert (found.state, found.provider_reference) == ("found", result.provider_reference)
    assert fake.state_snapshot()["side_effects"] == 1


def test_predicted_side_effects_carry_type_and_cost():
    alpaca = get_adapter("alpaca")
    order = alpaca.validate("orders.create", PAYLOADS[("alpaca", "orders.create")])
    effect = alpaca.side_effects("orders.create", order)[0]
    assert (effect.type, effect.reversible, effect.estimated_cost) == (
        "trade",
        False,
        Decimal("21"),
    )
    shopify = get_adapter("shopify")
    product = shopify.validate("products.create", {"title": "Mug", "status": "active"})
    assert shopify.side_effects("products.create", product)[0].type == "publish"


def test_schemas_are_strict():
    alpaca = get_adapter("alpaca")
    with pytest.raises(pydantic.ValidationError):
        alpaca.validate("orders.create", {**PAYLOADS[("alpaca", "orders.create")], "x": 1})
    with pytest.raises(pydantic.ValidationError):
        alpaca.validate(
            "orders.create", {**PAYLOADS[("alpaca", "orders.create")], "limit_price": None}
        )
    with pytest.raises(UnknownAction):
        alpaca.validate("orders.cancel", {})


def test_failures_are_classified(fake):
    alpaca, shopify = get_adapter("alpaca"), get_adapter("shopify")
    order = alpaca.validate("orders.create", PAYLOADS[("alpaca", "orders.create")])
    product = shopify.validate("products.create", {"title": "Mug"})
    fake.fault(match="/v2/orders", mode="500")
    with pytest.raises(ProviderServerError) as server_error:
        alpaca.execute("orders.create", order, reference="r1", ctx=ctx(fake))
    assert server_error.value.retry_safe  # Alpaca deduplicates by client_order_id
    fake.fault(match="/admin/api", mode="500")
    with pytest.raises(ProviderServerError) as not_safe:
        shopify.execute("products.create", product, reference="r2", ctx=ctx(fake))
    assert not not_safe.value.retry_safe
    fake.fault(match="/v2/orders", mode="429", retry_after=7)
    with pytest.raises(RateLimited) as limited:
        alpaca.execute("orders.create", order, reference="r3", ctx=ctx(fake))
    assert limited.value.retry_after == 7
    fake.fault(match="/admin/api", mode="drop_after_commit")
    with pytest.raises(OutcomeUnknown):
        shopify.execute("products.create", product, reference="r4", ctx=ctx(fake))
    assert len(fake.state_snapshot()["created"]["shopify"]) == 1  # it did happen
    fake.fault(match="/v2/orders", mode="slow", delay=1.5)
    with pytest.raises(OutcomeUnknown):
        alpaca.execute("orders.create", order, reference="r5", ctx=ctx(fake, timeout=0.5))
    alpaca.execute("orders.create", order, reference="r6", ctx=ctx(fake))
    with pytest.raises(Rejected):  # Alpaca refuses a duplicate client_order_id
        alpaca.execute("orders.create", order, reference="r6", ctx=ctx(fake))


def test_a_closed_port_is_not_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    alpaca = get_adapter("alpaca")
    order = alpaca.validate("orders.create", PAYLOADS[("alpaca", "orders.create")])
    context = ProviderContext(base_url=f"http://127.0.0.1:{port}", secret=SECRET)
    with pytest.raises(NotSent) as refused:
        alpaca.execute("orders.create", order, reference="r", ctx=context)
    assert refused.value.retry_safe and not refused.value.sent


def test_webhook_is_signed_over_the_exact_bytes(fake):
    webhook = get_adapter("webhook")
    payload = webhook.validate(
        "send", {"url": f"{fake.url}/webhook/x", "event": "e", "data": {"ü": 1}}
    )
    webhook.execute("send", payload, reference="ap-w", ctx=ctx(fake))
    delivery = fake.state_snapshot()["created"]["webhook"][0]
    assert delivery["body"] == '{"data":{"ü":1},"event":"e","reference":"ap-w"}'  # canonical
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    assert verify(SECRET, headers["x-autopack-signature"], delivery["body"].encode())
    assert not verify("other", headers["x-autopack-signature"], delivery["body"].encode())
    assert webhook.lookup("send", payload, reference="ap-w", ctx=ctx(fake)).state == "unknown"


def test_fake_provider_refuses_non_loopback_hosts():
    with pytest.raises(ValueError, match="loopback"):
        FakeProviderServer(host="0.0.0.0")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/admin/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]/x",
        "ftp://example.com/x",
    ],
)
def test_webhooks_to_private_networks_are_refused(url):
    with pytest.raises(pydantic.ValidationError, match=r"routable|local name|http"):
        get_adapter("webhook").validate("send", {"url": url, "event": "e"})
