from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.html import format_html

from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ProjectScopedInlineMixin,
    confirmed_action,
)
from autopack_site.errors import DomainError
from autopack_site.models import AgentKey, Project, ProjectMembership, Scope, WorkerHeartbeat
from autopack_site.roles import Capability
from autopack_site.services import (
    agent_key_create,
    agent_key_revoke,
    membership_check,
    membership_grant,
    membership_revoke,
)


def _refusal(acting_user, project: Project, user, role: str) -> str | None:
    """Why the membership service would refuse this grant or revocation, if it would."""
    try:
        membership_check(acting_user=acting_user, project=project, user=user, role=role)
    except DomainError as refusal:
        return refusal.message
    return None


class MembershipForm(forms.ModelForm):
    """Grants one role to a user named by their exact username (no list of every user)."""

    acting_user = None  # set per request by the admin: the service's check runs on validation

    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name="username",
        widget=forms.TextInput,
        help_text="The user's exact username.",
    )

    class Meta:
        model = ProjectMembership
        fields = ["project", "user", "role"]

    def clean(self):
        cleaned = super().clean()
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        user, role = cleaned.get("user"), cleaned.get("role")
        if project and user and role:
            refusal = _refusal(self.acting_user, project, user, role)
            if refusal:
                raise forms.ValidationError(refusal)
        return cleaned


class MembershipFormSet(forms.BaseInlineFormSet):
    acting_user = None

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            gone = form.instance
            refusal = gone.pk and _refusal(self.acting_user, self.instance, gone.user, gone.role)
            if refusal:
                raise forms.ValidationError(refusal)


class MembershipInline(ProjectScopedInlineMixin, admin.TabularInline):
    """Roles are granted (new rows) and revoked (deleted rows), never edited in place."""

    model = ProjectMembership
    form = MembershipForm
    formset = MembershipFormSet
    fields = ["user", "role"]
    extra = 0
    add_capability = Capability.MANAGE_MEMBERS
    delete_capability = Capability.MANAGE_MEMBERS

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.acting_user = formset.form.acting_user = request.user
        return formset


@admin.register(Project)
class ProjectAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]
    project_field = "pk"
    change_capability = Capability.MANAGE_PROJECT

    def has_add_permission(self, request):
        # a new tenant belongs to no project yet: creating one is site administration
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        # the slug names the project in agents' paths and keys' scopes: fixed once created
        return ["slug", "created_at"] if obj is not None else ["created_at"]

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProjectMembership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for membership in formset.deleted_objects:
            membership_revoke(
                project=form.instance,
                user=membership.user,
                role=membership.role,
                acting_user=request.user,
            )
        for membership in formset.new_objects:
            membership_grant(
                project=form.instance,
                user=membership.user,
                role=membership.role,
                acting_user=request.user,
            )
        return None


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Owners grant roles (add) and revoke them (delete), through the membership services."""

    form = MembershipForm
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", ProjectListFilter]
    list_select_related = ["user", "project"]
    search_fields = ["user__username", "project__slug"]
    add_capability = Capability.MANAGE_MEMBERS
    delete_capability = Capability.MANAGE_MEMBERS

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.acting_user = request.user
        return form

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (
            obj is None or _refusal(request.user, obj.project, obj.user, obj.role) is None
        )

    def save_model(self, request, obj, form, change):
        membership = membership_grant(
            project=obj.project, user=obj.user, role=obj.role, acting_user=request.user
        )
        obj.pk = membership.pk

    def delete_model(self, request, obj):
        membership_revoke(
            project=obj.project, user=obj.user, role=obj.role, acting_user=request.user
        )

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("project", "user"):
            refusal = _refusal(request.user, membership.project, membership.user, membership.role)
            if refusal:
                self.message_user(request, f"{membership}: {refusal}", messages.ERROR)
                continue
            self.delete_model(request, membership)


class AgentKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )

    class Meta:
        model = AgentKey
        fields = ["project", "name", "scopes"]


def _revoke(key: AgentKey, user, reason: str) -> None:
    agent_key_revoke(key=key, reason=f"{user.get_username()}: {reason}")


@admin.register(AgentKey)
class AgentKeyAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    add_capability = Capability.MANAGE_KEYS
    list_display = [
        "name",
        "project",
        "prefix",
        "scope_list",
        "state",
        "last_used_at",
        "created_at",
    ]
    list_filter = [ProjectListFilter, ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["project"]
    search_fields = ["name", "prefix", "project__slug"]
    readonly_fields = [
        "project",
        "name",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
        "revoked_reason",
    ]
    actions = [
        confirmed_action(
            description="Revoke selected agent keys",
            verb="Revoke",
            service=_revoke,
            capability=Capability.MANAGE_KEYS,
            needs_reason=True,
        )
    ]

    @admin.display(description="scopes")
    def scope_list(self, key: AgentKey) -> str:
        return " ".join(key.scopes)

    @admin.display(description="state", ordering="revoked_at")
    def state(self, key: AgentKey) -> str:
        if key.revoked_at:
            return format_html('<span style="color:#b00">{}</span>', "revoked")
        return format_html('<span style="color:#070">{}</span>', "active")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = AgentKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        # keys are revoked (an action), never edited or deleted: the audit trail needs them
        return ["project", "name", "scopes"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        key, plaintext = agent_key_create(
            project=form.cleaned_data["project"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
        )
        obj.pk = key.pk
        messages.warning(
            request,
            format_html(
                "New agent key — copy it now, it is shown only once: <code>{}</code>", plaintext
            ),
        )


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Site-wide and written by the workers: readable by anyone who may view some project."""

    list_display = ["name", "beat_at", "hostname", "pid"]
    readonly_fields = ["name", "beat_at", "hostname", "pid"]
    project_field = None
