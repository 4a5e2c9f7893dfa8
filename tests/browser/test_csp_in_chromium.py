"""The Content Security Policy holds in a real browser: the admin, the inbox, Swagger UI and the
second-factor enrolment render with no CSP violation reported by chromium."""

from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from approvals.models import ApprovalRequest
from autopack_site.demo import demo_seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The page's own report as well as chromium's console line; the init script runs outside the CSP.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def violations(page):
    found = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or "CSP violation" in message.text
            else None
        ),
    )
    return found


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def test_admin_inbox_and_swagger_ui_pass_the_csp(live_server, page, violations):
    credentials = demo_seed()
    approval = ApprovalRequest.objects.get()
    log_in(page, live_server.url, credentials.username, credentials.password)

    expect(page.locator("#figure-approvals")).to_contain_text("1 pending approval")
    page.goto(f"{live_server.url}/admin/approvals/approvalrequest/{approval.pk}/change/")
    expect(page.locator("#payload-hash")).to_have_text(approval.payload_hash)
    # the nonce'd style block applied: the diff panel is monospace
    font = page.locator("#diff .diff").evaluate("element => getComputedStyle(element).fontFamily")
    assert "monospace" in font

    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Autopack Agent API")
    expect(page.locator(".opblock").first).to_be_visible()

    assert violations == []


def test_an_operator_enrols_a_totp_device_in_the_browser(live_server, page, violations, settings):
    settings.AUTOPACK_REQUIRE_2FA = True
    credentials = demo_seed()
    log_in(page, live_server.url, credentials.username, credentials.password)

    expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_otp_token", f"{TOTP(key).token():06d}")
    page.click("#two-factor-form input[type=submit]")

    expect(page.locator("#figure-approvals")).to_contain_text("1 pending approval")
    assert violations == []
