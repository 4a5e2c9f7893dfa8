"""What an operator reads in the admin: inbox rows that say what they do, an approval page that
says what happens next (through a confirmation), readable action records, the runs list naming
the approval a run waits on, and a dashboard whose cost does not grow with the tables."""

import re

import pytest

from approvals.models import ApprovalRequest, ApprovalStatus
from autopack_site.models import Role
from ledger.models import ActionStatus, ExternalAction
from ledger.tests.conftest import product, propose
from tests.factories import make_run, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(ledger_project):
    return make_staff(ledger_project, Role.OPERATOR, Role.POLICY_EDITOR)


def _pending_shopify(actor, run=None, key="op-1"):
    extra = {"run": run.pk, "phase": "build"} if run else {}
    response = propose(actor, key, "shopify", "products.create", product(), **extra)
    assert response.status_code == 201, response.json()
    action = ExternalAction.objects.get(idempotency_key=key)
    assert action.status == ActionStatus.PENDING_APPROVAL
    return action, ApprovalRequest.objects.get(pk=action.approval_id)


def test_an_inbox_row_says_what_the_action_does_where_and_how_reversible(
    client, actor, ledger_project, operator
):
    run = make_run(ledger_project)
    _action, approval = _pending_shopify(actor, run)
    client.force_login(operator)
    html = client.get("/admin/approvals/approvalrequest/").content.decode()
    row = html[html.index(f"/admin/approvals/approvalrequest/{approval.pk}/change/") :]
    row = row[: row.index("</tr>")]
    assert "shopify products.create → " in row  # provider/action and target
    assert str(run) in row and "build" in row  # run and phase
    assert "reversible" in row  # side-effect class
    assert "risk" in row and "in " in row  # risk bar, expiry
    # the run filter offers the active runs and narrows the inbox to one
    other = make_run(ledger_project)
    html = client.get("/admin/approvals/approvalrequest/").content.decode()
    assert f"run={run.pk}" in html and f"run={other.pk}" in html
    only_other = client.get(f"/admin/approvals/approvalrequest/?run={other.pk}").content.decode()
    assert f"/admin/approvals/approvalrequest/{approval.pk}/change/" not in only_other
    only_run = client.get(f"/admin/approvals/approvalrequest/?run={run.pk}").content.decode()
    assert f"/admin/approvals/approvalrequest/{approval.pk}/change/" in only_run


def test_the_approval_page_links_everything_and_approving_goes_through_a_confirmation(
    client, actor, ledger_project, operator
):
    run = make_run(ledger_project)
    action, approval = _pending_shopify(actor, run)
    client.force_login(operator)
    page = client.get(f"/admin/approvals/approvalrequest/{approval.pk}/change/").content.decode()
    assert f'href="/admin/ledger/externalaction/{action.pk}/change/"' in page
    assert f'href="/admin/runs/run/{run.pk}/change/"' in page
    assert "The worker sends this exact request to shopify right away" in page
    assert page.index('id="after-approve"') < page.index('id="approve-button"')
    assert "&quot;title&quot;: &quot;Autopack mug&quot;" in page  # pretty JSON, double quotes
    assert "{'" not in page  # never a Python dict
    assert "What would change it" not in page

    decide = f"/admin/approvals/approvalrequest/{approval.pk}/decide/"
    asked = {"verdict": "approve", "payload_hash_seen": approval.payload_hash}
    confirm = client.post(decide, asked).content.decode()
    assert approval.payload_hash in confirm and "right away" in confirm
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    client.post(decide, {**asked, "confirmed": "yes"})
    approval.refresh_from_db()
    assert approval.status in (ApprovalStatus.APPROVED, ApprovalStatus.CONSUMED)
    after = client.get(f"/admin/approvals/approvalrequest/{approval.pk}/change/").content.decode()
    action.refresh_from_db()
    assert 'id="execution-status"' in after and action.status in after
    assert "Why the policy stopped it" not in after and 'id="approve-button"' not in after


def test_rejecting_needs_a_reason_and_the_confirmation_repeats_it(
    client, actor, ledger_project, operator
):
    _action, approval = _pending_shopify(actor)
    client.force_login(operator)
    decide = f"/admin/approvals/approvalrequest/{approval.pk}/decide/"
    asked = {
        "verdict": "reject",
        "payload_hash_seen": approval.payload_hash,
        "reason": "wrong shop",
        "reason_code": "incorrect",
    }
    confirm = client.post(decide, asked).content.decode()
    assert "wrong shop" in confirm and "never sent" in confirm
    client.post(decide, {**asked, "confirmed": "yes"})
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REJECTED


def test_a_viewer_gets_no_confirmation_page_either(client, actor, ledger_project):
    _action, approval = _pending_shopify(actor)
    viewer = make_staff(ledger_project, Role.VIEWER)
    client.force_login(viewer)
    response = client.post(
        f"/admin/approvals/approvalrequest/{approval.pk}/decide/",
        {"verdict": "approve", "payload_hash_seen": approval.payload_hash},
    )
    assert response.status_code in (403, 404)


def test_the_action_page_is_readable_and_the_lists_say_why(client, actor, ledger_project, operator):
    run = make_run(ledger_project)
    action, approval = _pending_shopify(actor, run)
    client.force_login(operator)
    page = client.get(f"/admin/ledger/externalaction/{action.pk}/change/").content.decode()
    assert 'class="readable"' in page
    assert "{&#x27;" not in page and "{'" not in page
    assert "Response body" not in page
    assert "Next attempt at" in page  # not finished yet: retry fields shown
    ExternalAction.objects.filter(pk=action.pk).update(
        status=ActionStatus.FAILED, error="provider_server_error: 503 from shopify"
    )
    finished = client.get(f"/admin/ledger/externalaction/{action.pk}/change/").content.decode()
    assert "Next attempt at" not in finished
    listing = client.get("/admin/ledger/externalaction/").content.decode()
    assert "provider_server_error: 503 from shopify" in listing
    assert "Autopack mug" in listing or "products.create" in listing
    ExternalAction.objects.filter(pk=action.pk).update(status=ActionStatus.PENDING_APPROVAL)
    runs = client.get("/admin/runs/run/").content.decode()
    assert f"waiting on approval {approval.pk}" in runs


def test_the_dashboard_draws_svg_figures_linking_to_filtered_lists(client, actor, operator):
    _pending_shopify(actor)
    client.force_login(operator)
    html = client.get("/admin/").content.decode()
    for key in ("approvals", "actions", "runs", "decisions", "credentials"):
        assert f'id="figure-{key}"' in html, key
    assert html.count('<svg class="dash-chart"') >= 3
    assert re.search(r"<strong>1</strong> pending approval\b", html)
    assert "/admin/approvals/approvalrequest/?age=lt1h&amp;risk=" in html
    assert "/admin/ledger/externalaction/?status__exact=pending_approval" in html
    assert "<script" not in html.split('id="dashboard"')[1].split("</div>")[0]


def test_branding_view_site_and_favicon(client, operator):
    client.force_login(operator)
    html = client.get("/admin/").content.decode()
    assert "Django administration" not in html and "Django site admin" not in html
    assert "<title>Today | Autopack</title>" in html
    assert 'href="/admin/approvals/approvalrequest/"' in html  # View site → the inbox
    assert 'rel="icon"' in html and "favicon.svg" in html
