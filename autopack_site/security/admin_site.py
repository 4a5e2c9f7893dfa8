"""The admin site: Django's, plus a second factor between the password and every admin page."""

from django.contrib import admin
from django.urls import path

from autopack_site.security.dashboard import dashboard
from autopack_site.security.two_factor import second_factor_missing, second_factor_redirect
from autopack_site.security.views import two_factor_view


class AutopackAdminSite(admin.AdminSite):
    site_header = "Autopack"
    site_title = "Autopack"
    index_title = "Today"
    # "View site" opens the operator's inbox: there is no public site to view
    site_url = "/admin/approvals/approvalrequest/"
    index_template = "admin/autopack/index.html"
    # the app list is on the index and in the breadcrumbs; the sidebar would take a quarter of
    # a 1280 px screen from the inbox's columns
    enable_nav_sidebar = False

    def index(self, request, extra_context=None):
        context = {"dashboard": dashboard(request), **(extra_context or {})}
        return super().index(request, context)

    def has_permission(self, request) -> bool:
        # every admin view, custom ones included, goes through admin_view() and so through here
        return super().has_permission(request) and not second_factor_missing(request)

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        # right after the password, or when an unverified session comes back: the code step
        if second_factor_missing(request):
            return second_factor_redirect(request)
        return response

    def two_factor(self, request):
        """Not behind admin_view(): the one admin page a signed-in, unverified user may see."""
        return two_factor_view(request, site=self)

    def get_urls(self):
        return [path("two-factor/", self.two_factor, name="two_factor"), *super().get_urls()]
