"""An operator's day in Chromium (Playwright, Debian's chromium) at 1280 px: log in, read the
dashboard, filter the inbox, open an action, approve it through the confirmation and watch the
execution succeed on the same page (a real worker, the loopback fake provider), reject a patch
with a reason, edit the policy and see the shadowing warning. Every step saves a screenshot in
var/screenshots/operator-day/ and checks that the page does not scroll sideways; a second walk
does the same at 390 px (a phone)."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from autopack_site.demo import demo_seed
from conftest import agent_client
from ledger.models import ActionStatus, ExternalAction
from runs.models import Run
from tests import live_fixtures

# the live fixtures, shared with the other end-to-end tests
live_fake_provider = live_fixtures.live_fake_provider
live_worker = live_fixtures.live_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots" / "operator-day"
NO_SIDEWAYS_SCROLL = (
    "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
)


class Walk:
    def __init__(self, page, folder: Path):
        self.page, self.folder, self.step = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        """Saves the step's screenshot; the page must fit the viewport's width."""
        self.step += 1
        self.page.screenshot(path=str(self.folder / f"{self.step:02d}-{name}.png"), full_page=True)
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        assert self.page.evaluate(NO_SIDEWAYS_SCROLL), (
            f"{name}: {self.page.url} scrolls sideways ({width} px wide)"
        )

    def list_fits(self) -> None:
        """A list's columns all show: its table does not scroll inside its box either."""
        fits = self.page.locator("#changelist .results").evaluate(
            "box => box.scrollWidth <= box.clientWidth"
        )
        assert fits, f"{self.page.url}: the list's columns are cut off"


def _log_in(page, base_url, credentials):
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", credentials.username)
    page.fill("#id_password", credentials.password)


def _propose_webhook(credentials, hook_url: str) -> ExternalAction:
    run = Run.objects.get(family="demo-build")
    agent = agent_client(credentials.agent_key)
    response = agent.post(
        "/api/v1/actions",
        {
            "provider": "webhook",
            "action": "send",
            "payload": {"url": hook_url, "event": "build.finished", "data": {"ok": True}},
            "run": run.pk,
            "phase": "plan",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="operator-day-1",
    )
    assert response.status_code == 201, response.json()
    action = ExternalAction.objects.get(idempotency_key="operator-day-1")
    assert action.status == ActionStatus.PENDING_APPROVAL
    return action


def test_an_operators_day_at_1280_px(live_server, page, live_worker, live_fake_provider):
    credentials = demo_seed()
    action = _propose_webhook(credentials, f"{live_fake_provider.url}/webhook/operator-day")
    patch_approval = ApprovalRequest.objects.get(kind=ApprovalKind.PATCH)
    page.set_viewport_size({"width": 1280, "height": 900})
    walk = Walk(page, SCREENSHOTS)

    _log_in(page, live_server.url, credentials)
    walk.shot("login")
    page.click("input[type=submit]")

    # the dashboard: figures drawn on the server, each bar a link to the filtered list
    expect(page.locator("#figure-approvals")).to_contain_text("2 pending approvals")
    expect(page.locator("#figure-actions svg.dash-chart")).to_be_visible()
    expect(page.locator("#figure-runs svg.dash-chart")).to_be_visible()
    expect(page.locator("#figure-decisions svg.dash-chart")).to_be_visible()
    expect(page.locator("#site-name")).to_contain_text("Autopack")
    walk.shot("dashboard")
    columns = page.locator("#dashboard").evaluate(
        "grid => getComputedStyle(grid).gridTemplateColumns.split(' ').length"
    )
    assert columns >= 2, "the dashboard's figures sit side by side at 1280 px"

    # the inbox, filtered to actions: the row says what it does
    page.click("#pending-count")
    page.locator("#changelist-filter a", has_text="action").first.click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("webhook send → build.finished")
    expect(rows.first).to_contain_text("demo-build/first-run")
    expect(rows.first).to_contain_text("irreversible")
    walk.shot("inbox-filtered-to-actions")
    walk.list_fits()

    # the action's approval page: what happens next, before the buttons
    rows.first.locator("a.inbox-what").click()
    expect(page.locator("#after-approve")).to_contain_text("The worker sends this exact request")
    expect(page.locator("#target-link a")).to_have_attribute(
        "href", f"/admin/ledger/externalaction/{action.pk}/change/"
    )
    expect(page.locator("#request-json")).to_contain_text('"event": "build.finished"')
    walk.shot("action-approval-page")

    page.click("#approve-button")
    expect(page.locator("#confirm-hash")).to_have_text(action.approval.payload_hash)
    expect(page.locator("#confirm-next")).to_contain_text("right away")
    walk.shot("approve-confirmation")
    page.click("#confirm-button")
    expect(page.locator(".messagelist")).to_contain_text("Approved #")
    # the page reloads itself until the worker has sent it
    expect(page.locator("#execution-status")).to_contain_text("succeeded", timeout=60_000)
    expect(page.locator("#execution-reference")).to_be_visible()
    walk.shot("action-executed")
    page.click("#execution-link")
    expect(page.locator("body")).to_contain_text("Outcome at the provider")
    walk.shot("action-record")

    # the ledger's and the runs' lists: every column shows at 1280 px
    page.goto(f"{live_server.url}/admin/ledger/externalaction/")
    expect(page.locator("#result_list")).to_contain_text("build.finished")
    walk.shot("ledger-list")
    walk.list_fits()
    page.goto(f"{live_server.url}/admin/runs/run/")
    expect(page.locator("#result_list")).to_contain_text("waiting on approval")
    walk.shot("runs-list")
    walk.list_fits()

    # reject the demo patch, with a reason, through its confirmation
    page.goto(f"{live_server.url}/admin/approvals/approvalrequest/{patch_approval.pk}/change/")
    expect(page.locator("#run-link")).to_contain_text("demo-build/first-run")
    page.fill("#id_reason", "The health page belongs in docs/ops, not docs/")
    page.select_option("#id_reason_code", "needs_changes")
    walk.shot("patch-before-reject")
    page.click("#reject-button")
    expect(page.locator("#confirm-decision")).to_contain_text("docs/ops")
    walk.shot("reject-confirmation")
    page.click("#confirm-button")
    expect(page.locator(".messagelist")).to_contain_text(f"Rejected #{patch_approval.pk}")
    patch_approval.refresh_from_db()
    assert patch_approval.status == ApprovalStatus.REJECTED
    walk.shot("patch-rejected")

    # the policy: an allow rule that the template's */* require-approval rule shadows
    page.goto(f"{live_server.url}/admin/policies/governancepolicy/")
    page.locator("#result_list tbody tr a").first.click()
    expect(page.locator("#policy-warnings")).to_have_count(0)
    walk.shot("policy-editor")
    new = page.locator("#action_rules-group tr.form-row:not(.has_original)").first
    new.locator("input[name$='-priority']").fill("10")
    new.locator("input[name$='-provider_glob']").fill("webhook")
    new.locator("input[name$='-action_glob']").fill("send")
    new.locator("select[name$='-effect']").select_option("allow")
    page.fill("#id_change_reason", "let the agent send webhooks")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("policy v2")
    expect(page.locator("#policy-warnings")).to_contain_text(
        "rule-2 (webhook/send → allow) can never take effect: rule-1"
    )
    walk.shot("policy-shadowing-warning")


def test_the_console_fits_a_phone(live_server, page):
    credentials = demo_seed()
    approval = ApprovalRequest.objects.get()
    page.set_viewport_size({"width": 390, "height": 844})
    walk = Walk(page, SCREENSHOTS / "390px")
    _log_in(page, live_server.url, credentials)
    page.click("input[type=submit]")
    expect(page.locator("#figure-approvals")).to_contain_text("1 pending approval")
    walk.shot("dashboard")
    page.goto(f"{live_server.url}/admin/approvals/approvalrequest/")
    walk.shot("inbox")
    page.goto(f"{live_server.url}/admin/approvals/approvalrequest/{approval.pk}/change/")
    expect(page.locator("#after-approve")).to_be_visible()
    walk.shot("approval-page")
