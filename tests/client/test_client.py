"""The client against the real server over loopback HTTP (pytest-django's live_server)."""

import threading

import pytest

from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from autopack_client import (
    AutopackClient,
    Conflict,
    Denied,
    Forbidden,
    NotFound,
    OrderDenied,
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


# --- trading: the pre-trade risk gate -----------------------------------------------------------
def test_check_order_allows_reserves_replays_and_denies_with_reasons(client_for, ledger_project):
    account = make_account(ledger_project, max_orders_per_day=1)
    client = client_for(make_key(ledger_project, scopes=["read", "trading:write"]))
    terms = {
        "symbol": "AAPL",
        "side": "buy",
        "qty": "2",
        "reference_price": "100.00",
        "strategy_version": "s1",
    }
    preview = client.check_order(account.pk, client_order_id="c-1", preview=True, **terms)
    assert preview.allowed and preview.decision_id is None
    allowed = client.check_order(account.pk, client_order_id="c-1", **terms)
    assert allowed.allowed and allowed.decision_id and allowed.order_value == "200.0000"
    assert allowed.remaining["orders_today"] == "0"
    replay = client.check_order(account.pk, client_order_id="c-1", **terms)
    assert replay.replayed and replay.decision_id == allowed.decision_id
    denied = client.check_order(account.pk, client_order_id="c-2", **terms)
    assert not denied.allowed and denied.codes == ["DAILY_ORDER_COUNT_REACHED"]
    with pytest.raises(ValidationFailed) as reused:
        client.check_order(account.pk, client_order_id="c-1", **{**terms, "qty": "3"})
    assert reused.value.code == "client_order_id_reused"


def test_report_order_moves_the_decision_and_releases_capacity(client_for, ledger_project):
    account = make_account(ledger_project)
    client = client_for(make_key(ledger_project, scopes=["read", "trading:write"]))
    client.check_order(
        account.pk,
        client_order_id="r-1",
        symbol="AAPL",
        side="buy",
        qty="2",
        reference_price="100",
        strategy_version="s1",
    )
    assert client.report_order(account.pk, "r-1", "submitted").status == "submitted"
    partial = client.report_order(
        account.pk, "r-1", "partially_filled", filled_qty="1", fill_price="99.5"
    )
    assert partial.status == "partially_filled"
    assert client.report_order(account.pk, "r-1", "cancelled").status == "cancelled"
    with pytest.raises(Conflict) as closed:
        client.report_order(account.pk, "r-1", "filled", filled_qty="1", fill_price="99")
    assert closed.value.code == "order_closed"
    position = account.positions.get(symbol="AAPL")
    assert position.qty == 1 and account.decisions.get().reserved_value == 0


def test_an_agent_engages_the_kill_switch_but_cannot_release_it(client_for, ledger_project):
    account = make_account(ledger_project)
    client = client_for(make_key(ledger_project, scopes=["read", "trading:write"]))
    switch = client.engage_kill_switch(account.pk, "runaway loop")
    assert switch.engaged and switch.reason == "runaway loop"
    denied = client.check_order(
        account.pk,
        client_order_id="k-1",
        symbol="AAPL",
        side="buy",
        qty="1",
        reference_price="100",
        strategy_version="s1",
    )
    assert "KILL_SWITCH_ENGAGED" in denied.codes
    with pytest.raises(Forbidden) as refused:
        client._request(
            "POST",
            f"/api/v1/trading/accounts/{account.pk}/kill-switch",
            json={"engaged": False, "reason": "let me"},
        )
    assert refused.value.code == "kill_switch_release_forbidden"


def test_guarded_order_places_through_the_callers_broker_and_reports(client_for, ledger_project):
    account = make_account(ledger_project)
    client = client_for(make_key(ledger_project, scopes=["read", "trading:write"]))
    sent = []

    def broker(check):
        sent.append(check.client_order_id)
        return "broker-7"

    placed = client.guarded_order(
        account.pk,
        client_order_id="g-1",
        symbol="AAPL",
        side="buy",
        qty="1",
        reference_price="100",
        strategy_version="s1",
        place=broker,
    )
    assert sent == ["g-1"] and placed.broker_reference == "broker-7"
    assert placed.report.status == "submitted"

    def failing(check):
        raise RuntimeError("broker down")

    with pytest.raises(RuntimeError):
        client.guarded_order(
            account.pk,
            client_order_id="g-2",
            symbol="AAPL",
            side="buy",
            qty="1",
            reference_price="100",
            strategy_version="s1",
            place=failing,
        )
    assert account.decisions.get(client_order_id="g-2").status == "rejected"  # released

    client.engage_kill_switch(account.pk, "stop")
    with pytest.raises(OrderDenied) as denied:
        client.guarded_order(
            account.pk,
            client_order_id="g-3",
            symbol="AAPL",
            side="buy",
            qty="1",
            reference_price="100",
            strategy_version="s1",
            place=broker,
        )
    assert "KILL_SWITCH_ENGAGED" in denied.value.check.codes and sent == ["g-1"]


def test_guarded_order_places_through_the_ledger_with_the_decision_id(
    client_for, ledger_project, fake_provider
):
    account = make_account(ledger_project)
    client = client_for(make_key(ledger_project, scopes=TRADER))
    stop = threading.Event()

    def worker():  # the worker's part: execute what the policy approved
        while not stop.is_set():
            for pk in ExternalAction.objects.filter(status="approved").values_list("pk", flat=True):
                action_execute(pk)
            stop.wait(0.1)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        placed = client.guarded_order(
            account.pk,
            client_order_id="ledger-1",
            symbol="AAPL",
            side="buy",
            qty="2",
            order_type="limit",
            limit_price="100.00",
            reference_price="100.00",
            strategy_version="s1",
            timeout=20,
        )
    finally:
        stop.set()
        thread.join(timeout=10)
    assert placed.action.status == "succeeded" and placed.report.status == "submitted"
    assert placed.action.provider_reference == placed.broker_reference
    created = fake_provider.state_snapshot()["created"]["alpaca"]
    assert [o["client_order_id"] for o in created] == ["ledger-1"]
    decision = account.decisions.get()
    assert decision.ledger_action_id == placed.action.id
