"""Operator login: lockout after bad passwords, the TOTP second factor, the CSP, session expiry."""

import re
from base64 import b32decode
from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals.models import ApprovalRequest
from autopack_site.demo import demo_seed
from autopack_site.tests.test_commands_and_settings import _django
from tests.factories import login_with_second_factor, make_user

pytestmark = pytest.mark.django_db

INBOX = "/admin/approvals/approvalrequest/"
PASSWORD = "pw-for-tests-only"  # tests.factories.make_user's


def log_in(client, username: str, password: str, next_url: str = "/admin/"):
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": next_url}
    )


def totp_code(secret: bytes) -> str:
    return f"{TOTP(secret).token():06d}"


def shown_secret(html: str) -> bytes:
    """The secret as the enrolment page shows it to the operator (base32, grouped)."""
    text = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    return b32decode(text + "=" * (-len(text) % 8))


# --- lockout -------------------------------------------------------------------------------------


def test_the_sixth_bad_password_locks_the_account_until_an_operator_unlocks_it(client):
    user = make_user("opal")
    for attempt in range(1, 6):
        answer = log_in(client, "opal", f"wrong-{attempt}")
        assert answer.status_code == 200, attempt
        assert b"Please enter the correct username and password" in answer.content

    locked = log_in(client, "opal", "wrong-6")
    assert locked.status_code == 429
    html = " ".join(locked.content.decode().split())
    assert "signing in as <strong>opal</strong> is locked" in html
    assert "manage.py axes_reset_username opal" in html

    refused = log_in(client, "opal", PASSWORD)
    assert refused.status_code == 429
    assert client.get("/admin/").status_code == 302  # not signed in

    out = StringIO()
    call_command("axes_reset_username", user.username, stdout=out)
    assert log_in(client, "opal", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_failures_older_than_the_window_do_not_count(client):
    make_user("opal")
    for attempt in range(5):
        log_in(client, "opal", f"wrong-{attempt}")
    window = timedelta(minutes=settings.AUTOPACK_LOGIN_LOCKOUT_MINUTES)
    AccessAttempt.objects.update(attempt_time=timezone.now() - window - timedelta(minutes=1))
    assert log_in(client, "opal", "wrong-again").status_code == 200
    assert log_in(client, "opal", PASSWORD).status_code == 302


def test_a_successful_login_starts_the_count_afresh(client):
    make_user("opal")
    for attempt in range(5):
        log_in(client, "opal", f"wrong-{attempt}")
    assert log_in(client, "opal", PASSWORD).status_code == 302
    client.logout()
    for attempt in range(5):
        assert log_in(client, "opal", f"typo-{attempt}").status_code == 200
    assert log_in(client, "opal", PASSWORD).status_code == 302


def test_the_demo_operator_logs_in_without_a_second_factor_in_development(client):
    assert settings.AUTOPACK_REQUIRE_2FA is False
    credentials = demo_seed()
    answer = log_in(client, credentials.username, credentials.password, INBOX)
    assert answer.status_code == 302 and answer["Location"] == INBOX
    assert "Add a health page" in client.get(INBOX).content.decode()


# --- second factor, required ---------------------------------------------------------------------


@pytest.fixture
def require_2fa(settings):
    settings.AUTOPACK_REQUIRE_2FA = True


@pytest.fixture
def operator_with_inbox():
    """The demo operator (staff, operator role) with a pending approval in their inbox."""
    return demo_seed()


def test_without_a_device_the_inbox_stays_closed_until_the_operator_enrols(
    client, require_2fa, operator_with_inbox
):
    credentials = operator_with_inbox
    after_password = log_in(client, credentials.username, credentials.password, INBOX)
    assert after_password.status_code == 302
    assert after_password["Location"].startswith("/admin/two-factor/?next=")

    for closed in (INBOX, "/admin/", f"{INBOX}{ApprovalRequest.objects.get().pk}/change/"):
        answer = client.get(closed)
        assert answer.status_code == 302, closed
        assert answer["Location"].startswith("/admin/login/"), closed
    assert client.get("/admin/login/")["Location"].startswith("/admin/two-factor/")

    enrol = client.get(after_password["Location"])
    html = enrol.content.decode()
    assert enrol.status_code == 200
    assert "otpauth://totp/Autopack%3Aoperator?secret=" in html
    assert "<svg" in html  # the QR code
    secret = shown_secret(html)

    accepted = client.post("/admin/two-factor/", {"otp_token": totp_code(secret), "next": INBOX})
    assert accepted.status_code == 302 and accepted["Location"] == INBOX
    inbox = client.get(INBOX)
    assert inbox.status_code == 200
    assert "Add a health page" in inbox.content.decode()
    assert TOTPDevice.objects.get(user__username="operator").confirmed


def test_an_enrolled_operator_types_a_code_at_every_login_and_sees_no_secret(
    client, require_2fa, operator_with_inbox
):
    credentials = operator_with_inbox
    operator = User.objects.get(username=credentials.username)
    device = TOTPDevice.objects.create(user=operator, confirmed=True)
    log_in(client, credentials.username, credentials.password, INBOX)
    page = client.get(f"/admin/two-factor/?next={INBOX}").content.decode()
    assert "Type the code your authenticator app shows" in page
    assert "totp-secret" not in page and "otpauth://" not in page

    answer = client.post("/admin/two-factor/", {"otp_token": totp_code(device.bin_key)})
    assert answer.status_code == 302
    assert client.get(INBOX).status_code == 200


def test_wrong_codes_are_refused_and_then_throttled(client, require_2fa, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 3600  # each wrong code makes the next try wait an hour
    make_user("opal")
    log_in(client, "opal", PASSWORD)
    secret = shown_secret(client.get("/admin/two-factor/").content.decode())
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
    refused = client.post("/admin/two-factor/", {"otp_token": wrong})
    assert refused.status_code == 200
    assert "That code was not accepted" in refused.content.decode()
    assert client.get("/admin/").status_code == 302

    throttled = client.post("/admin/two-factor/", {"otp_token": totp_code(secret)})
    assert "the next try counts from" in throttled.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_reloaded_enrolment_page_shows_a_new_secret_and_the_old_one_stops_working(
    client, require_2fa
):
    user = make_user("opal")
    log_in(client, "opal", PASSWORD)
    first = shown_secret(client.get("/admin/two-factor/").content.decode())
    second = shown_secret(client.get("/admin/two-factor/").content.decode())
    assert first != second
    assert client.post("/admin/two-factor/", {"otp_token": totp_code(first)}).status_code == 200
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_the_second_factor_step_only_redirects_inside_the_site(client, require_2fa):
    make_user("opal")
    log_in(client, "opal", PASSWORD)
    secret = shown_secret(client.get("/admin/two-factor/").content.decode())
    answer = client.post(
        "/admin/two-factor/", {"otp_token": totp_code(secret), "next": "https://evil.example/"}
    )
    assert answer["Location"] == "/admin/"


def test_the_second_factor_page_is_for_signed_in_staff_only(client, require_2fa):
    assert client.get("/admin/two-factor/")["Location"].startswith("/admin/login/")
    client.force_login(make_user("visitor", staff=False))
    assert client.get("/admin/two-factor/")["Location"].startswith("/admin/login/")
    assert not TOTPDevice.objects.exists()


def test_log_out_from_the_second_factor_page(client, require_2fa):
    make_user("opal")
    log_in(client, "opal", PASSWORD)
    answer = client.post("/admin/two-factor/", {"logout": "1"})
    assert answer["Location"] == "/admin/login/"
    assert client.get("/admin/two-factor/")["Location"].startswith("/admin/login/")


def test_resetting_a_lost_device_closes_verified_sessions_and_asks_for_enrolment(
    client, require_2fa
):
    user = make_user("opal")
    login_with_second_factor(client, user)
    assert client.get("/admin/").status_code == 200
    out = StringIO()
    call_command("two_factor_reset", "opal", stdout=out)
    assert "Removed 1 TOTP device(s)" in out.getvalue()
    assert client.get("/admin/").status_code == 302
    assert "totp-secret" in client.get("/admin/two-factor/").content.decode()


def test_production_requires_the_second_factor_and_refuses_to_turn_it_off():
    production = {
        "AUTOPACK_ENV": "production",
        "SECRET_KEY": "k" * 60,
        "ALLOWED_HOSTS": "autopack.example.com",
    }
    shown = _django(
        production,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.AUTOPACK_REQUIRE_2FA)",
    )
    assert shown.stdout.strip().splitlines()[-1] == "True", shown.stderr
    refused = _django({**production, "AUTOPACK_REQUIRE_2FA": "0"}, "check")
    assert refused.returncode != 0
    assert "AUTOPACK_REQUIRE_2FA is off" in refused.stderr


# --- second factor, optional (development) -------------------------------------------------------


def test_in_development_staff_who_enrolled_a_device_are_still_asked_for_it(client):
    user = make_user("opal")
    client.force_login(user)
    assert client.get("/admin/").status_code == 200  # no device: no second step

    TOTPDevice.objects.create(user=user, confirmed=True)
    client.force_login(user)
    assert client.get("/admin/").status_code == 302
    assert "Type the code" in client.get("/admin/two-factor/").content.decode()


# --- CSP and sessions ----------------------------------------------------------------------------


def csp_directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


def test_admin_pages_carry_a_csp_without_inline_script(client):
    credentials = demo_seed()
    client.post(
        "/admin/login/", {"username": credentials.username, "password": credentials.password}
    )
    approval = ApprovalRequest.objects.get()
    for path in ("/admin/login/", "/admin/", INBOX, f"{INBOX}{approval.pk}/change/"):
        directives = csp_directives(client.get(path))
        assert directives["script-src"] == "script-src 'self'", path
        assert directives["object-src"] == "object-src 'none'", path
        assert directives["frame-ancestors"] == "frame-ancestors 'none'", path
        assert "unsafe-inline" not in directives["style-src"], path


def test_the_inbox_style_block_carries_the_responses_nonce(client):
    credentials = demo_seed()
    client.post(
        "/admin/login/", {"username": credentials.username, "password": credentials.password}
    )
    page = client.get(f"{INBOX}{ApprovalRequest.objects.get().pk}/change/")
    nonce = re.search(r'<style nonce="([^"]+)">', page.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in csp_directives(page)["style-src"]


def test_swagger_ui_has_no_inline_script(client):
    page = client.get("/api/docs/")
    html = page.content.decode()
    assert csp_directives(page)["script-src"] == "script-src 'self'"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    init = client.get("/api/docs/?script=")
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()


def test_sessions_expire_after_the_configured_age(client):
    make_user("opal")
    answer = log_in(client, "opal", PASSWORD)
    assert answer.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 8 * 3600
    assert client.session.get_expiry_age() == 8 * 3600
