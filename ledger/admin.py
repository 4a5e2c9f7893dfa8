"""The ledger in the admin: every action with its events; the needs-reconciliation list where an
operator records an outcome or authorises a retry (with a reason); credentials without secrets."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from approvals.inbox import (
    InboxLine,
    Outcome,
    effect_class_of,
    register_inbox_describer,
    register_run_filter,
)
from approvals.models import ApprovalKind, ApprovalStatus
from autopack_site.admin_readable import readable
from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ReadOnlyInline,
    StringListField,
    confirmed_action,
)
from autopack_site.roles import Capability, allowed_somewhere, projects_where
from autopack_site.security.dashboard import Bar, Figure, FigureData, Segment, register_figure
from ledger import services
from ledger.models import (
    ActionAnswer,
    ActionEvent,
    ActionMode,
    ActionStatus,
    ExternalAction,
    ProviderCredential,
)
from runs.admin import RunAdmin

FINISHED = {
    ActionStatus.DRY_RUN,
    ActionStatus.DENIED,
    ActionStatus.SUCCEEDED,
    ActionStatus.FAILED,
    ActionStatus.REJECTED,
    ActionStatus.EXPIRED,
    ActionStatus.CANCELLED,
}
RETRY_FIELDS = ["attempts", "next_attempt_at", "lease_expires_at", "claimed_by"]


def action_target(action: ExternalAction) -> str:
    """What the action acts on, in a few words: its predicted side effect's target, else the
    URL it calls."""
    for effect in action.side_effects or []:
        if isinstance(effect, dict) and effect.get("target"):
            return str(effect["target"])
    return str((action.rendered_request or {}).get("url", "")) or "—"


def action_url(action_id: int) -> str:
    return reverse("admin:ledger_externalaction_change", args=[action_id])


def _run_url(run_id: int) -> str:
    return reverse("admin:runs_run_change", args=[run_id])


def _after_approve(action: ExternalAction, effect: str) -> str:
    undo = " It cannot be undone." if effect != "reversible" else ""
    if action.mode == ActionMode.AGENT:
        return (
            f"The agent may then claim it and call {action.provider} itself, once, with exactly "
            f"this payload.{undo}"
        )
    return (
        f"The worker sends this exact request to {action.provider} right away (it is queued the "
        f"moment you approve) and this page then shows the execution's status.{undo}"
    )


def describe_actions(requests) -> dict[int, InboxLine]:
    """One query for the whole page: the actions with their runs and phases."""
    actions = {
        action.pk: action
        for action in ExternalAction.objects.filter(
            pk__in=[r.target_id for r in requests if r.target_id]
        )
        .select_related("run", "phase")
        .only(
            "id",
            "provider",
            "action",
            "mode",
            "status",
            "side_effects",
            "rendered_request",
            "provider_reference",
            "error",
            "run__id",
            "run__family",
            "run__run_id",
            "phase__id",
            "phase__key",
        )
    }
    lines = {}
    for request in requests:
        action = actions.get(request.target_id)
        if action is None:
            continue
        effect = effect_class_of(action.side_effects)
        lines[request.pk] = InboxLine(
            what=f"{action.provider} {action.action} → {action_target(action)}",
            target_label=f"action #{action.pk} ({action.status})",
            target_url=action_url(action.pk),
            run_label=str(action.run) if action.run_id else "",
            run_url=_run_url(action.run_id) if action.run_id else "",
            phase=action.phase.key if action.phase_id else "",
            effect_class=effect,
            after_approve=_after_approve(action, effect),
            after_reject="The action is rejected and never sent; the agent is told why.",
            outcome=Outcome(
                status=action.status,
                reference=action.provider_reference,
                error=action.error,
                url=action_url(action.pk),
                # held or awaiting reconciliation: a person acts next, nothing to wait for
                finished=action.status
                in FINISHED | {ActionStatus.HELD, ActionStatus.NEEDS_RECONCILIATION},
            ),
            facts=[("mode", action.get_mode_display())],
        )
    return lines


register_inbox_describer(ApprovalKind.ACTION, describe_actions)
register_run_filter(
    ApprovalKind.ACTION,
    lambda run_id: Q(
        kind=ApprovalKind.ACTION,
        target_id__in=ExternalAction.objects.filter(run_id=run_id).values("pk"),
    ),
)
# the runs list says which approval a run waits on: its actions' pending approvals count too
RunAdmin.register_waiting_source(
    lambda outer: ExternalAction.objects.filter(
        run_id=outer, status=ActionStatus.PENDING_APPROVAL, approval__status=ApprovalStatus.PENDING
    ).values("approval_id")
)


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

    list_display = ["id", "what", "target", "status_badge", "run_phase", "created_at"]
    list_filter = [NeedsAttentionFilter, "status", "provider", "mode", ProjectListFilter]
    list_select_related = ["project", "run", "phase"]
    search_fields = ["=idempotency_key", "=reference", "=provider_reference", "=payload_hash"]
    show_full_result_count = False
    inlines = [EventInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "project",
                    "provider",
                    "action",
                    "mode",
                    "status",
                    "run_link",
                    "phase",
                    "approval_link",
                    "provider_reference",
                    "error",
                    "created_at",
                    "finished_at",
                ]
            },
        ),
        ("What was asked", {"fields": ["payload_readable", "dry_run"]}),
        ("The policy's decision", {"fields": ["decision_readable"]}),
        (
            "The request and its side effects",
            {"fields": ["request_readable", "side_effects_readable"]},
        ),
        ("The provider's answer", {"fields": ["response_readable"]}),
        ("Retries", {"fields": RETRY_FIELDS}),
        (
            "Identity",
            {
                "classes": ["collapse"],
                "fields": [
                    "idempotency_key",
                    "reference",
                    "request_hash",
                    "payload_hash",
                    "requested_by_key",
                    "callback_url",
                    "held_by",
                    "stored_answer",
                ],
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.status in FINISHED:  # no retry is coming: hide its fields
            fieldsets = [fs for fs in fieldsets if fs[0] != "Retries"]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    # --- list columns -----------------------------------------------------------------------------
    @admin.display(description="action", ordering="provider")
    def what(self, obj: ExternalAction) -> str:
        return format_html(
            '<strong>{}/{}</strong><br><span class="inbox-sub">{} · {}</span>',
            obj.provider,
            obj.action,
            obj.project.slug,
            obj.mode,
        )

    @admin.display(description="target · reason")
    def target(self, obj: ExternalAction) -> str:
        if obj.error and obj.status in (
            ActionStatus.FAILED,
            ActionStatus.UNKNOWN,
            ActionStatus.NEEDS_RECONCILIATION,
            ActionStatus.HELD,
            ActionStatus.DENIED,
        ):
            return format_html(
                '{}<br><span style="color:#b02a37">{}</span>', action_target(obj), obj.error[:160]
            )
        return action_target(obj)

    @admin.display(description="run / phase")
    def run_phase(self, obj: ExternalAction) -> str:
        if not obj.run_id:
            return "—"
        return format_html(
            '<a href="{}">{}</a><br><span class="inbox-sub">{}</span>',
            _run_url(obj.run_id),
            obj.run,
            obj.phase.key if obj.phase_id else "—",
        )

    # --- the record, readable ---------------------------------------------------------------------
    @admin.display(description="run")
    def run_link(self, obj: ExternalAction) -> str:
        if not obj.run_id:
            return "—"
        return format_html('<a href="{}">{}</a>', _run_url(obj.run_id), obj.run)

    @admin.display(description="approval")
    def approval_link(self, obj: ExternalAction) -> str:
        if not obj.approval_id:
            return "—"
        url = reverse("admin:approvals_approvalrequest_change", args=[obj.approval_id])
        return format_html('<a href="{}">approval #{}</a>', url, obj.approval_id)

    @admin.display(description="payload")
    def payload_readable(self, obj: ExternalAction) -> str:
        return readable(obj.payload)

    @admin.display(description="decision")
    def decision_readable(self, obj: ExternalAction) -> str:
        return readable(obj.decision)

    @admin.display(description="rendered request")
    def request_readable(self, obj: ExternalAction) -> str:
        return readable(obj.rendered_request)

    @admin.display(description="predicted side effects")
    def side_effects_readable(self, obj: ExternalAction) -> str:
        return readable(obj.side_effects)

    @admin.display(description="outcome at the provider")
    def response_readable(self, obj: ExternalAction) -> str:
        if not obj.response_summary and obj.status not in FINISHED:
            return "Not executed yet."
        return readable(obj.response_summary)

    @admin.display(description="stored answer to the proposal")
    def stored_answer(self, obj: ExternalAction) -> str:
        answer = ActionAnswer.objects.filter(action_id=obj.pk).only("status_code").first()
        if answer is None:
            return "—"
        return format_html(
            "HTTP {} — the first answer the agent got when it proposed this action, kept so a "
            "retry with the same Idempotency-Key gets the same bytes. It describes the action "
            "at proposal time, not now.",
            answer.status_code,
        )

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


class ProviderCredentialForm(forms.ModelForm):
    scopes = StringListField(
        help_text="The provider's scopes this credential carries, one per line."
    )
    allowed_actions = StringListField(
        help_text="Action globs this credential may perform, one per line (e.g. products.*)."
    )

    class Meta:
        model = ProviderCredential
        fields = ["scopes", "allowed_actions"]  # the rest as the admin's fields say


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Metadata only: the secret lives in the project's namespace, named by secret_name; the
    admin shows where it is read from and whether it is set, never its value."""

    form = ProviderCredentialForm

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


# --- the dashboard's figures (autopack_site/security/dashboard.py) -------------------------------
ACTION_COLOURS = {
    ActionStatus.SUCCEEDED: "#198754",
    ActionStatus.FAILED: "#b02a37",
    ActionStatus.NEEDS_RECONCILIATION: "#b02a37",
    ActionStatus.UNKNOWN: "#b58100",
    ActionStatus.HELD: "#b58100",
    ActionStatus.PENDING_APPROVAL: "#0a58ca",
    ActionStatus.DENIED: "#6c2a6a",
}


def actions_figure(request) -> FigureData | None:
    """Actions proposed in the last 24 hours by status: one GROUP BY."""
    if not allowed_somewhere(request.user, Capability.VIEW):
        return None
    since = timezone.now() - timedelta(hours=24)
    counts = dict(
        ExternalAction.objects.filter(
            project__in=projects_where(request.user, Capability.VIEW), created_at__gte=since
        )
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    listing = reverse("admin:ledger_externalaction_changelist")
    bars = [
        Bar(
            label=status.replace("_", " "),
            url=f"{listing}?status__exact={status}",
            segments=[Segment(counts[status], ACTION_COLOURS.get(status, "#6c757d"), status)],
        )
        for status in ActionStatus.values
        if counts.get(status)
    ]
    return FigureData(
        bars=bars, empty="No action in the last 24 hours.", link=listing, link_label="All actions"
    )


ATTENTION_STATES = {  # credential_health states an operator must act on
    "held": "#b02a37",
    # a colour, not a secret:
    "missing_secret": "#b02a37",  # nosec B105
    "critical": "#b02a37",
    "rotate_soon": "#b58100",
}
MAX_CREDENTIALS_CHECKED = 500


def credentials_figure(request) -> FigureData | None:
    """Active credentials whose state needs a person: one query (health is computed in
    Python from the row and the secret store, never from the database)."""
    if not allowed_somewhere(request.user, Capability.VIEW):
        return None
    credentials = ProviderCredential.objects.filter(
        project__in=projects_where(request.user, Capability.VIEW), active=True
    ).order_by("id")[:MAX_CREDENTIALS_CHECKED]
    counts: dict[str, int] = {}
    for credential in credentials:
        state = services.credential_health(credential).state
        if state in ATTENTION_STATES:
            counts[state] = counts.get(state, 0) + 1
    listing = reverse("admin:ledger_providercredential_changelist")
    bars = [
        Bar(
            label=state.replace("_", " "),
            url=listing,
            segments=[Segment(counts[state], colour, state)],
        )
        for state, colour in ATTENTION_STATES.items()
        if counts.get(state)
    ]
    return FigureData(
        bars=bars,
        empty="Every credential is fine.",
        link=listing,
        link_label="All credentials",
    )


register_figure(Figure("actions", "Actions in the last 24 h, by status", 20, actions_figure))
register_figure(Figure("credentials", "Credentials needing attention", 50, credentials_figure))
