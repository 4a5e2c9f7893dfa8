"""The client against the real server over loopback HTTP (pytest-django's live_server)."""

import pytest

from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from autopack_client import (
    AutopackClient,
    Denied,
    NotFound,
    Rejected,
    Unauthorized,
    ValidationFailed,
    derive_idempotency_key,
)
from ledger.models import ExternalAction
from ledger.services import action_execute
from ledger.tests.conftest import order, product
from tests.factories import make_key, make_project
from trading.tests.conftest import make_account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client_for(live_server):
    clients = []

    def make(key: str) -> AutopackClient:
        client = AutopackClient(live_server.url, key, retries=1, backoff=0.01)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def account(ledger_project):
    return make_account(ledger_project)


def checked(client: AutopackClient, account, client_order_id: str, **overrides) -> dict:
    """An Alpaca order that passed the risk gate: it carries its check's decision_id and
    client_order_id, which the ledger requires of every Alpaca order."""
    payload = order(**overrides)
    check = client.check_order(
        account.pk,
        client_order_id=client_order_id,
        symbol=payload["symbol"],
        side=payload["side"],
        qty=payload["qty"],
        order_type="limit",
        limit_price=payload["limit_price"],
        reference_price=payload["limit_price"],
        strategy_version="s1",
    )
    assert check.allowed, check.reasons
    return {**payload, "decision_id": check.decision_id, "client_order_id": client_order_id}


def test_an_agent_drives_a_run_end_to_end(client_for):
    client = client_for(make_key(make_project("client-runs")))
    run = client.create_run(
        "build", "c-1", phases=[{"key": "plan"}, {"key": "code", "depends_on": ["plan"]}]
    )
    assert [p.key for p in run.phases] == ["plan", "code"]
    attempt = client.claim(run.id, lease_seconds=60)
    assert attempt.phase == "plan"
    client.heartbeat(attempt.id, lease_seconds=120)
    client.checkpoint(attempt.id, {"step": 1})
    client.complete(attempt.id, "succeeded")
    second = client.claim(run.id)
    assert second.phase == "code"
    client.complete(second.id, "succeeded")
    assert client.claim(run.id) is None
    assert client.get_run(run.id).status == "completed"


def test_typed_errors(client_for, live_server):
    project = make_project("client-errors")
    client = client_for(make_key(project))
    with pytest.raises(NotFound):
        client.get_run(999_999)
    with pytest.raises(Unauthorized):
        client_for("apk_000000000000_" + "x" * 40).me()
    with pytest.raises(ValidationFailed) as invalid:
        client.create_run("build", "bad id!", phases=[{"key": "plan"}])
    assert invalid.value.status == 422
    assert invalid.value.details["fields"][0]["path"] == "run_id"


def test_actions_execute_and_raise_typed_outcomes(client_for, ledger_project, approver, account):
    client = client_for(make_key(ledger_project, scopes=["read", "actions:write", "trading:write"]))
    payload = checked(client, account, "typed-1")
    proposed = client.propose("alpaca", "orders.create", payload, run=None, step=None)
    assert proposed.status == "approved"
    action_execute(proposed.id)  # the worker's part, in process
    assert client.wait_for_action(proposed.id, timeout=5).status == "succeeded"

    listing = {
        "shop_id": 1,
        "quantity": 1,
        "title": "Mug",
        "description": "A mug",
        "price": "10.00",
        "who_made": "i_did",
        "when_made": "made_to_order",
        "taxonomy_id": 1,
    }
    with pytest.raises(Denied) as denied:
        client.execute("etsy", "listings.create_draft", listing, timeout=5)
    assert "No Etsy listings" in str(denied.value)

    pending = client.propose("shopify", "products.create", product())
    approval = ApprovalRequest.objects.get(pk=pending.approval["id"])
    approval_decide(
        request_id=approval.pk,
        user=approver,
        approve=False,
        reason="off-brand",
        reason_code="out_of_scope",
        payload_hash_seen=approval.payload_hash,
    )
    with pytest.raises(Rejected):
        client.execute(
            "shopify",
            "products.create",
            product(),
            idempotency_key=pending.idempotency_key,
            timeout=5,
        )
    assert client.get_approval(approval.pk).status == "rejected"


TRADER = ["read", "actions:write", "runs:write", "trading:write"]


def test_keys_derived_from_run_phase_step_make_retries_safe(client_for, ledger_project, account):
    client = client_for(make_key(ledger_project, scopes=TRADER))
    run = client.create_run("trade", "r-1", phases=[{"key": "buy"}])
    payload = checked(client, account, "derived-1")
    first = client.propose("alpaca", "orders.create", payload, run=run.id, phase="buy", step=1)
    again = client.propose("alpaca", "orders.create", payload, run=run.id, phase="buy", step=1)
    assert first.id == again.id
    assert first.idempotency_key == derive_idempotency_key(
        run.id, "buy", 1, "alpaca", "orders.create"
    )
    assert ExternalAction.objects.count() == 1


def test_governed_decorator_runs_the_call_once_in_agent_mode(client_for, ledger_project, account):
    client = client_for(make_key(ledger_project, scopes=TRADER))
    run = client.create_run("trade", "r-2", phases=[{"key": "buy"}])
    calls = []

    @client.governed("alpaca", "orders.create", timeout=5)
    def place(payload):
        calls.append(payload)
        return "order-1", {"status": "accepted"}

    payload = checked(client, account, "governed-1")
    done = place(payload, run=run.id, phase="buy", step=1)
    assert done.status == "succeeded" and done.provider_reference == "order-1"
    again = place(payload, run=run.id, phase="buy", step=1)  # a restarted agent, same step
    assert again.id == done.id and again.status == "succeeded"
    assert len(calls) == 1
