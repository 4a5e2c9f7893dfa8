"""The second-factor page: enrol an authenticator app (first login), or type its current code."""

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from autopack_site.security.two_factor import (
    is_verified,
    qr_code_svg,
    safe_next_url,
    secret_text,
    totp_device_confirmed_for,
    totp_device_pending_for,
    totp_device_start_enrolment,
    totp_device_verify,
)

WRONG_CODE = "That code was not accepted: type the six digits the app shows now."


def _refusal(device) -> str:
    device.refresh_from_db()  # the failure just counted was saved through another instance
    allowed, detail = device.verify_is_allowed()
    locked_until = (detail or {}).get("locked_until")
    if allowed or locked_until is None or locked_until <= timezone.now():
        return WRONG_CODE
    wait = f"After repeated wrong codes, the next try counts from {locked_until:%H:%M:%S} UTC."
    return f"{WRONG_CODE} {wait}"


@sensitive_post_parameters("otp_token")
@never_cache
def two_factor_view(request, *, site):
    user = request.user
    next_url = safe_next_url(request)
    login_url = reverse("admin:login", current_app=site.name)
    if not (user.is_active and user.is_staff):
        return redirect_to_login(next_url, login_url)
    if request.method == "POST" and request.POST.get("logout"):
        logout(request)  # admin's own logout is behind the second factor
        return HttpResponseRedirect(login_url)
    if is_verified(user):
        return HttpResponseRedirect(next_url)

    device = totp_device_confirmed_for(user=user)
    enrolling = device is None
    error = ""
    if request.method == "POST":
        if enrolling:
            device = totp_device_pending_for(user=user)
        token = request.POST.get("otp_token", "")
        if device is not None and totp_device_verify(request=request, device=device, token=token):
            return HttpResponseRedirect(next_url)
        error = _refusal(device) if device is not None else "The setup expired: scan the new code."
    if enrolling and (request.method == "GET" or device is None):
        # each visit makes a fresh secret: a secret shown earlier is never shown again
        device = totp_device_start_enrolment(user=user)

    context = {
        **site.each_context(request),
        "available_apps": [],  # nothing of the admin before the second factor
        "title": "Set up two-factor sign-in" if enrolling else "Two-factor sign-in",
        "enrolling": enrolling,
        "next": next_url,
        "error": error,
    }
    if enrolling:
        context.update(
            secret=secret_text(device),
            otpauth_uri=device.config_url,
            # segno's own SVG markup:
            qr_svg=mark_safe(qr_code_svg(device)),  # nosec B308 B703
        )
    return TemplateResponse(request, "admin/autopack/two_factor.html", context)
