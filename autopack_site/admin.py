from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from autopack_site.admin_tools import ProjectScopedAdminMixin, confirmed_action
from autopack_site.models import AgentKey, Project, ProjectMembership, Scope, WorkerHeartbeat
from autopack_site.selectors import projects_for_user
from autopack_site.services import agent_key_create, agent_key_revoke


class MembershipInline(admin.TabularInline):
    model = ProjectMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=projects_for_user(user=request.user).values("pk"))


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    list_select_related = ["user", "project"]
    search_fields = ["user__username", "project__slug"]
    autocomplete_fields = ["user", "project"]


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
    list_display = [
        "name",
        "project",
        "prefix",
        "scope_list",
        "state",
        "last_used_at",
        "created_at",
    ]
    list_filter = ["project", ("revoked_at", admin.EmptyFieldListFilter)]
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
        return ["project", "name", "scopes"] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # keys are revoked, never deleted: the audit trail needs them

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
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at", "hostname", "pid"]
    readonly_fields = ["name", "beat_at", "hostname", "pid"]

    def has_add_permission(self, request):
        return False
