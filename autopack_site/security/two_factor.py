"""The second factor for staff: django-otp TOTP devices, enrolled by the operator at first login.

With AUTOPACK_REQUIRE_2FA on (the production default) no admin page opens for a staff user until
this session was verified with a confirmed TOTP device. With it off (the development default)
only staff who enrolled a device are asked for a code.
"""

from base64 import b32encode
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp import verify_token as otp_verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

# set at login: this staff user has a confirmed device, so this session must be verified
SESSION_HAS_DEVICE = "autopack_2fa_enrolled"
DEVICE_NAME = "authenticator app"


def is_verified(user) -> bool:
    # OTPMiddleware sets otp_device; django.contrib.auth.login() swaps in a user without it
    return getattr(user, "otp_device", None) is not None


def second_factor_missing(request) -> bool:
    user = request.user
    if not (user.is_active and user.is_staff) or is_verified(user):
        return False
    return settings.AUTOPACK_REQUIRE_2FA or request.session.get(SESSION_HAS_DEVICE, False)


def remember_enrolment(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: one query at login instead of one per admin request."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_HAS_DEVICE] = bool(user.is_staff and user_has_device(user))


def safe_next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def second_factor_redirect(request) -> HttpResponseRedirect:
    query = urlencode({"next": safe_next_url(request)})
    return HttpResponseRedirect(f"{reverse('admin:two_factor')}?{query}")


def totp_device_confirmed_for(*, user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def totp_device_pending_for(*, user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("-pk").first()


def totp_device_start_enrolment(*, user) -> TOTPDevice:
    """A fresh secret each time: the one shown is never shown again once confirmed, and a
    secret shown earlier but never confirmed stops working."""
    with transaction.atomic():
        TOTPDevice.objects.devices_for_user(user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_device_verify(*, request, device: TOTPDevice, token: str) -> bool:
    """Check ``token`` against ``device`` (django-otp throttles repeated failures); on success
    confirm the device if it was being enrolled and mark this session verified."""
    verified = otp_verify_token(request.user, device.persistent_id, token.strip())
    if verified is None:
        return False
    if not verified.confirmed:
        verified.confirmed = True
        verified.save(update_fields=["confirmed"])
    request.session.cycle_key()  # a new privilege level gets a new session id
    otp_login(request, verified)
    request.session[SESSION_HAS_DEVICE] = True
    return True


def totp_devices_reset(*, user) -> int:
    """Operator's reset: the user enrols a new device at their next login."""
    deleted, _ = TOTPDevice.objects.devices_for_user(user, confirmed=None).delete()
    return deleted


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps ask for it: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> str:
    return segno.make(device.config_url, error="m").svg_inline(scale=4, light="#fff", border=4)
