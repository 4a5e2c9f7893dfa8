"""Admin building blocks: every permission asks the role (autopack_site.roles), and
confirm-first actions.

Django's model permissions (the "Autopack staff" group) only open the admin's door; the user's
role in the row's project decides what is behind it. A ModelAdmin or inline declares, per verb,
the Capability it needs; None means nobody, superusers included.
"""

import json
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.template.response import TemplateResponse

from autopack_site.errors import DomainError
from autopack_site.models import Project
from autopack_site.roles import Capability, allowed_somewhere, projects_where, role_allows
from autopack_site.validators import validate_string_list


def project_id_of(obj, project_field: str | None) -> int | None:
    """The id of the project ``obj`` belongs to (``project_field`` "pk": obj is the project)."""
    if project_field is None:
        return None
    return obj.pk if project_field == "pk" else getattr(obj, f"{project_field}_id")


class RoleScoped:
    """What ModelAdmins and inlines share: the capability per verb, asked of the row's project.

    Without a row (a list, an add form) the question is whether the user holds the capability in
    at least one project; rows of other projects are filtered out before any check sees them.
    """

    view_capability: Capability | None = Capability.VIEW
    add_capability: Capability | None = None
    change_capability: Capability | None = None
    delete_capability: Capability | None = None

    def role_allows_for(self, request, capability: Capability | None, obj=None) -> bool:
        if capability is None:
            return False
        project_id = None if obj is None else self.project_id_for(obj)
        if project_id is None:
            return allowed_somewhere(request.user, capability)
        return role_allows(request.user, project_id, capability)

    def project_id_for(self, obj) -> int | None:
        """The project an object belongs to; models with a `project` field need no override."""
        return obj.project_id

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self.role_allows_for(
            request, self.view_capability, obj
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.role_allows_for(
            request, self.change_capability, obj
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self.role_allows_for(
            request, self.delete_capability, obj
        )


class ProjectScopedAdminMixin(RoleScoped):
    """For a ModelAdmin whose rows belong to a project through ``project_field`` ("pk" for
    Project itself, None for site-wide rows that anyone with VIEW somewhere may read)."""

    project_field: str | None = "project"

    def project_id_for(self, obj) -> int | None:
        return project_id_of(obj, self.project_field)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.project_field is None:  # site-wide rows
            readable = allowed_somewhere(request.user, self.view_capability)
            return queryset if readable else queryset.none()
        visible = projects_where(request.user, self.view_capability)
        return queryset.filter(**{f"{self.project_field}__in": visible})

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self.role_allows_for(
            request, self.add_capability
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # a row never moves to another project: that would take it past the other one's roles
        if obj is not None and self.project_field not in (None, "pk", *readonly):
            readonly.append(self.project_field)
        return readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Project:
            # the project is chosen only when adding (it is read-only afterwards)
            kwargs["queryset"] = (
                projects_where(request.user, self.add_capability)
                if self.add_capability
                else Project.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _action_permission(capability: Capability):
    def has_permission(self, request) -> bool:
        return allowed_somewhere(request.user, capability)

    has_permission.__name__ = f"has_{capability}_permission"
    return has_permission


# Admin actions declare permissions=[capability]; Django then asks has_<capability>_permission.
for _capability in Capability:
    if _capability is not Capability.VIEW:  # has_view_permission is Django's own
        setattr(
            ProjectScopedAdminMixin,
            f"has_{_capability}_permission",
            _action_permission(_capability),
        )


class ProjectScopedInlineMixin(RoleScoped):
    """For an inline: the parent row's project decides (through the parent ModelAdmin's
    ``project_field``)."""

    def project_id_for(self, parent) -> int | None:
        parent_admin = self.admin_site._registry[self.parent_model]
        return project_id_of(parent, parent_admin.project_field)

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and self.role_allows_for(
            request, self.add_capability, obj
        )


class ReadOnlyInline(ProjectScopedInlineMixin, admin.TabularInline):
    """History shown inline to whoever may view the parent: never added, changed or deleted."""

    extra = 0
    can_delete = False
    show_change_link = False


class ProjectListFilter(admin.SimpleListFilter):
    """The project filter, listing only the projects whose rows the user may see."""

    title = "project"
    parameter_name = "project"

    def __init__(self, request, params, model, model_admin):
        self.project_field = model_admin.project_field
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        visible = projects_where(request.user, model_admin.view_capability)
        return [(str(project.pk), project.slug) for project in visible.order_by("slug")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{f"{self.project_field}_id": int(value)})


def confirmed_action(
    *,
    description: str,
    verb: str,
    service: Callable[..., object],
    capability: Capability,
    needs_reason: bool = False,
    template: str = "admin/autopack/confirm_action.html",
    confirm_context: Callable[[list], dict] | None = None,
):
    """An admin action with a confirmation page first; then ``service(obj, user, reason)`` for
    each selected row whose project lets the user do ``capability``. Refusals are reported per
    row, never half-hidden. ``template`` (extending the default one) and
    ``confirm_context(objects)`` add what the confirmation page should show."""

    @admin.action(description=description, permissions=[str(capability)])
    def action(modeladmin, request, queryset: QuerySet):
        if request.POST.get("confirmed") == "yes":
            reason = request.POST.get("reason", "").strip()
            if needs_reason and not reason:
                modeladmin.message_user(request, "A reason is required.", messages.ERROR)
            else:
                done = 0
                for obj in queryset:
                    if not modeladmin.role_allows_for(request, capability, obj):
                        modeladmin.message_user(
                            request,
                            f"{obj}: your role in this project does not allow that.",
                            messages.ERROR,
                        )
                        continue
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
        objects = list(queryset)
        context = {
            **modeladmin.admin_site.each_context(request),
            **(confirm_context(objects) if confirm_context else {}),
            "title": f"{description}?",
            "verb": verb,
            "objects": objects,
            "opts": modeladmin.model._meta,
            "action_name": request.POST.get("action"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "needs_reason": needs_reason,
            "description": description,
        }
        return TemplateResponse(request, template, context)

    action.__name__ = f"action_{verb.lower().replace(' ', '_')}"
    action.capability = capability
    return action


class StringListField(forms.CharField):
    """A JSON list of strings edited as one entry per line: no JSON to get wrong (NaN, nesting,
    a number where a list belongs) reaches the model."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 40})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One per line.")
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(entry) for entry in value)
        return value

    def clean(self, value):
        text = super().clean(value) or ""
        entries = _json_list(text)
        if entries is None:
            entries = [line.strip() for line in text.splitlines() if line.strip()]
        validate_string_list(entries)
        return entries


def _json_list(text: str) -> list | None:
    """A JSON list typed the old way (``["a", "b"]``) is read as one; anything that does not
    parse as a list is read line by line."""
    if not text.lstrip().startswith("["):
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, list) else None
