"""Admin building blocks: project scoping and confirm-first actions."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.template.response import TemplateResponse

from autopack_site.errors import DomainError
from autopack_site.selectors import projects_for_user


class ReadOnlyInline(admin.TabularInline):
    """History shown inline: never added, changed or deleted from the admin."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProjectScopedAdminMixin:
    """Staff see rows of the projects they belong to; superusers see everything."""

    project_field = "project"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.project_field}__in": projects_for_user(user=request.user)}
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "project" and not request.user.is_superuser:
            kwargs["queryset"] = projects_for_user(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def confirmed_action(
    *,
    description: str,
    verb: str,
    service: Callable[..., object],
    permission: str = "change",
    needs_reason: bool = False,
):
    """An admin action with a confirmation page first; then ``service(obj, user, reason)`` for
    each selected row. Refusals are reported per row, never half-hidden."""

    @admin.action(description=description, permissions=[permission])
    def action(modeladmin, request, queryset: QuerySet):
        if request.POST.get("confirmed") == "yes":
            reason = request.POST.get("reason", "").strip()
            if needs_reason and not reason:
                modeladmin.message_user(request, "A reason is required.", messages.ERROR)
            else:
                done = 0
                for obj in queryset:
                    try:
                        service(obj, request.user, reason)
                        done += 1
                    except DomainError as refusal:
                        modeladmin.message_user(
                            request, f"{obj}: {refusal.message}", messages.ERROR
                        )
                if done:
                    modeladmin.message_user(request, f"{verb}: {done} item(s).", messages.SUCCESS)
                return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": f"{description}?",
            "verb": verb,
            "objects": list(queryset),
            "opts": modeladmin.model._meta,
            "action_name": request.POST.get("action"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "needs_reason": needs_reason,
            "description": description,
        }
        return TemplateResponse(request, "admin/autopack/confirm_action.html", context)

    action.__name__ = f"action_{verb.lower().replace(' ', '_')}"
    return action
