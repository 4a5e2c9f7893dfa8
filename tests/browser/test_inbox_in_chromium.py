"""An operator approves a patch in the inbox, in a real browser (Debian's chromium, Playwright)."""

import pytest
from playwright.sync_api import expect

from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from autopack_site.demo import demo_seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_reviews_the_diff_and_approves_in_the_inbox(live_server, page):
    credentials = demo_seed()
    approval = ApprovalRequest.objects.get(status=ApprovalStatus.PENDING)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", credentials.username)
    page.fill("#id_password", credentials.password)
    page.click("input[type=submit]")
    expect(page.locator("#figure-approvals")).to_contain_text("1 pending approval")

    page.click("#pending-count")
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text("Add a health page and document it")
    row.locator("a", has_text="Add a health page").click()

    expect(page.locator("#payload-hash")).to_have_text(approval.payload_hash)
    expect(page.locator("#changed-files")).to_contain_text("docs/health.md")
    expect(page.locator("#changed-files")).to_contain_text("protected docs/")
    expect(page.locator("#diff .add").first).to_be_visible()

    page.click("#reject-button")  # no reason given: refused, nothing changes
    expect(page.locator(".messagelist")).to_contain_text("needs a reason")
    page.click("#approve-button")
    expect(page.locator("#confirm-hash")).to_have_text(approval.payload_hash)
    page.click("#confirm-button")
    expect(page.locator(".messagelist")).to_contain_text(f"Approved #{approval.pk}")
    expect(page.locator("#approve-button")).to_have_count(0)

    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert ApprovalDecision.objects.get(request=approval).approver.username == "operator"
