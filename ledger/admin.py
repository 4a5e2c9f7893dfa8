"""The ledger in the admin: every action with its events; the needs-reconciliation list where an
operator records an outcome or authorises a retry (with a reason); credentials without secrets."""

from django.contrib import admin
from django.utils.html import format_html

from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ReadOnlyInline,
    confirmed_action,
)
from autopack_site.roles import Capability
from ledger import services
from ledger.models import ActionEvent, ActionStatus, ExternalAction, ProviderCredential


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("reconcile", "Needs reconciliation"),
            ("unknown", "Outcome unknown"),
            ("held", "Held"),
        ]

    def queryset(self, request, queryset):
        status = {
            "reconcile": ActionStatus.NEEDS_RECONCILIATION,
            "unknown": ActionStatus.UNKNOWN,
            "held": ActionStatus.HELD,
        }.get(self.value())
        return queryset.filter(status=status) if status else queryset


class EventInline(ReadOnlyInline):
    model = ActionEvent
    fields = ["created_at", "from_status", "to_status", "actor", "detail"]
    readonly_fields = fields


def _succeeded(action, user, reason):
    services.action_record_outcome(action_id=action.pk, user=user, succeeded=True, reason=reason)


def _failed(action, user, reason):
    services.action_record_outcome(action_id=action.pk, user=user, succeeded=False, reason=reason)


def _retry(action, user, reason):
    services.action_authorise_retry(action_id=action.pk, user=user, reason=reason)


def _release(action, user, reason):
    services.action_release(action_id=action.pk, user=user, reason=reason)


def _cancel(action, user, reason):
    services.action_cancel(action_id=action.pk, user=user, reason=reason)


@admin.register(ExternalAction)
class ExternalActionAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Actions change only through the operators' actions below (and the worker)."""

    list_display = [
        "id",
        "project",
        "provider",
        "action",
        "status_badge",
        "mode",
        "attempts",
        "provider_reference",
        "created_at",
    ]
    list_filter = [NeedsAttentionFilter, "status", "provider", "mode", ProjectListFilter]
    list_select_related = ["project"]
    search_fields = ["=idempotency_key", "=reference", "=provider_reference", "=payload_hash"]
    show_full_result_count = False
    inlines = [EventInline]
    readonly_fields = [f.name for f in ExternalAction._meta.fields]
    actions = [
        confirmed_action(
            description="Record: it happened at the provider",
            verb="Record succeeded",
            service=_succeeded,
            capability=Capability.OPERATE_ACTIONS,
            needs_reason=True,
        ),
        confirmed_action(
            description="Record: it did not happen",
            verb="Record failed",
            service=_failed,
            capability=Capability.OPERATE_ACTIONS,
            needs_reason=True,
        ),
        confirmed_action(
            description="Authorise one more attempt",
            verb="Authorise retry",
            service=_retry,
            capability=Capability.OPERATE_ACTIONS,
            needs_reason=True,
        ),
        confirmed_action(
            description="Release held actions",
            verb="Release",
            service=_release,
            capability=Capability.OPERATE_ACTIONS,
            needs_reason=True,
        ),
        confirmed_action(
            description="Cancel actions",
            verb="Cancel",
            service=_cancel,
            capability=Capability.OPERATE_ACTIONS,
            needs_reason=True,
        ),
    ]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: ExternalAction) -> str:
        colour = {
            ActionStatus.SUCCEEDED: "#198754",
            ActionStatus.FAILED: "#b02a37",
            ActionStatus.NEEDS_RECONCILIATION: "#b02a37",
            ActionStatus.UNKNOWN: "#b58100",
            ActionStatus.HELD: "#b58100",
        }.get(obj.status, "#555")
        return format_html('<strong style="color:{}">{}</strong>', colour, obj.status)


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Metadata only: the secret lives in the project's namespace, named by secret_name; the
    admin shows where it is read from and whether it is set, never its value."""

    add_capability = change_capability = delete_capability = Capability.MANAGE_CREDENTIALS

    list_display = ["project", "provider", "environment", "name", "state", "age", "held_reason"]
    list_filter = ["provider", "environment", "active"]
    list_select_related = ["project"]
    fields = [
        "project",
        "provider",
        "name",
        "environment",
        "scopes",
        "allowed_actions",
        "secret_name",
        "refresh_token_name",
        "secret_source",
        "rotated_at",
        "active",
        "held_reason",
        "last_refresh_at",
        "last_refresh_error",
    ]
    readonly_fields = ["secret_source", "last_refresh_at", "last_refresh_error"]

    @admin.display(description="state")
    def state(self, obj: ProviderCredential) -> str:
        return services.credential_health(obj).state

    @admin.display(description="age (days)")
    def age(self, obj: ProviderCredential) -> int:
        return services.credential_health(obj).age_days

    @admin.display(description="secret read from")
    def secret_source(self, obj: ProviderCredential) -> str:
        if obj.pk is None:
            return "derived from the project and the secret name when saved"
        state = "set" if services.credential_secret_available(obj) else "not set"
        return f"{services.credential_secret_source(obj)} — {state} (as this process sees it)"
