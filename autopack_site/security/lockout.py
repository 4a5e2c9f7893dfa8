"""The page django-axes answers for a locked-out account: the admin's look, a 429, what to do."""

from axes.helpers import get_client_username
from django.conf import settings
from django.contrib import admin
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    context = {
        **admin.site.each_context(request),
        "title": "Account locked",
        "username": get_client_username(request, credentials) or "",
        "lockout_minutes": settings.AUTOPACK_LOGIN_LOCKOUT_MINUTES,
    }
    return render(request, "admin/autopack/locked_out.html", context, status=429)
