from django.contrib.admin.apps import AdminConfig


class AutopackAdminConfig(AdminConfig):
    """Django's admin app with Autopack's site as ``admin.site``: every app's ``@admin.register``
    lands on a site whose permission check includes the second factor."""

    default_site = "autopack_site.security.admin_site.AutopackAdminSite"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from autopack_site.security.two_factor import remember_enrolment

        super().ready()
        user_logged_in.connect(remember_enrolment, dispatch_uid="autopack-2fa-enrolment")
