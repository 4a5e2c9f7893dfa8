"""Policy editing for staff: validated on save, versioned, previewed before it lands."""

import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ProjectScopedInlineMixin,
    ReadOnlyInline,
    confirmed_action,
)
from autopack_site.errors import DomainError
from autopack_site.roles import Capability, allowed_somewhere, projects_where
from autopack_site.security.dashboard import Bar, Figure, FigureData, Segment, register_figure
from policies.engine import InvalidPatternError, shadowed_rules, validate_patterns
from policies.models import ActionRule, DecisionLog, GovernancePolicy, PathRule, PolicyRevision
from policies.preview import PREVIEW_DEFAULT_LIMIT, policy_preview
from policies.services import (
    policy_disable,
    policy_enable,
    policy_record_revision,
    policy_save_snapshot,
    policy_validate_snapshot,
)
from policies.snapshots import SETTING_FIELDS, snapshot_of, spec_from_snapshot


class PathRuleFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            pattern = form.cleaned_data.get("pattern", "")
            try:
                validate_patterns([pattern])
            except InvalidPatternError as exc:
                form.add_error("pattern", str(exc))


class RuleInline(ProjectScopedInlineMixin, admin.TabularInline):
    """A policy's rules: edited (with a revision) by whoever may edit the policy."""

    add_capability = change_capability = delete_capability = Capability.EDIT_POLICY


class PathRuleInline(RuleInline):
    model = PathRule
    formset = PathRuleFormSet
    extra = 1
    fields = ["category", "pattern", "description"]


class ActionRuleInline(RuleInline):
    model = ActionRule
    extra = 1
    readonly_fields = ["rule_key"]
    fields = [
        "rule_key",
        "priority",
        "provider_glob",
        "action_glob",
        "effect",
        "max_amount",
        "dry_run_required",
        "publish_packet_required",
        "fresh_provider_policy_required",
        "expires_at",
        "description",
    ]


class RevisionInline(ReadOnlyInline):
    model = PolicyRevision
    fields = ["version", "created_at", "editor", "reason", "changes"]
    readonly_fields = fields

    @admin.display(description="what changed")
    def changes(self, revision: PolicyRevision) -> str:
        if not revision.diff:
            return "—"
        return format_html(
            '<ul class="changes">{}</ul>',
            format_html_join("", "<li>{}</li>", ((_describe(c),) for c in revision.diff)),
        )


def _describe(change: dict) -> str:
    kind = change["change"]
    if kind == "setting":
        return f"{change['field']}: {change['from']} → {change['to']}"
    if kind in ("path_added", "path_removed"):
        sign = "+" if kind == "path_added" else "-"
        return f"{sign} {change['category']} {change['pattern']}"
    rule = change["rule"]
    name = f"{rule['id']} " if rule.get("id") else ""
    if kind == "rule_changed":
        fields = ", ".join(f"{f} {old} → {new}" for f, (old, new) in change["fields"].items())
        return f"~ {name}{rule['provider_glob']}/{rule['action_glob']}: {fields}"
    sign = "+" if kind == "rule_added" else "-"
    return f"{sign} {name}{rule['provider_glob']}/{rule['action_glob']} → {rule['effect']}"


def policy_warnings(snapshot: dict) -> list[str]:
    """What the editor warns about (never refuses): rules that can never take effect."""
    try:
        spec = spec_from_snapshot(snapshot, version=0)
    except Exception:  # an invalid draft is reported by validation, not here
        return []
    return [shadow.message for shadow in shadowed_rules(spec)]


class PolicyForm(forms.ModelForm):
    change_reason = forms.CharField(
        max_length=500, help_text="Why this change? Kept in the policy's history."
    )

    class Meta:
        model = GovernancePolicy
        fields = ["project", *SETTING_FIELDS]


def _disable(policy: GovernancePolicy, user, reason: str) -> None:
    policy_disable(policy=policy, editor=user, reason=reason)


def _enable(policy: GovernancePolicy, user, reason: str) -> None:
    policy_enable(policy=policy, editor=user, reason=reason)


@admin.register(GovernancePolicy)
class GovernancePolicyAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Never deleted, by anyone: disabled instead, and its history stays."""

    form = PolicyForm
    add_capability = change_capability = Capability.EDIT_POLICY
    list_display = [
        "project",
        "version",
        "enabled",
        "safety_profile",
        "required_approvals",
        "updated_at",
        "updated_by",
    ]
    list_select_related = ["project", "updated_by"]
    list_filter = ["enabled", ProjectListFilter]
    readonly_fields = ["version", "enabled", "updated_by", "updated_at"]
    actions = [
        confirmed_action(
            description="Disable selected policies (every action then needs a human)",
            verb="Disable",
            service=_disable,
            capability=Capability.EDIT_POLICY,
            needs_reason=True,
        ),
        confirmed_action(
            description="Enable selected policies",
            verb="Enable",
            service=_enable,
            capability=Capability.EDIT_POLICY,
            needs_reason=True,
        ),
    ]
    fieldsets = [
        (None, {"fields": ["project", "version", "enabled", "change_reason"]}),
        (
            "Patches",
            {
                "fields": [
                    "safety_profile",
                    "case_insensitive_paths",
                    "max_auto_approve_lines",
                    "max_auto_approve_risk",
                    "first_run_requires_approval",
                ]
            },
        ),
        (
            "Approvals",
            {"fields": ["required_approvals", "pending_window_hours", "validity_window_hours"]},
        ),
        ("History", {"fields": ["updated_by", "updated_at"]}),
    ]
    inlines = [PathRuleInline, ActionRuleInline, RevisionInline]
    change_form_template = "admin/policies/governancepolicy/change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        project = form.base_fields.get("project")
        if project is not None:  # one policy per project, chosen once: no add/change icons
            widget = project.widget
            for flag in ("can_add_related", "can_change_related", "can_view_related"):
                if hasattr(widget, flag):
                    setattr(widget, flag, False)
            project.help_text = "Chosen once: a policy never moves to another project."
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(
            {
                "show_save_and_add_another": False,
                "show_delete_link": False,
                "policy_warnings": policy_warnings(snapshot_of(obj)) if obj is not None else [],
            }
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _saved(self, request, obj) -> None:
        """The message names the version the save created, and repeats any warning."""
        obj.refresh_from_db()
        for warning in policy_warnings(snapshot_of(obj)):
            self.message_user(request, f"Warning: {warning}", messages.WARNING)

    def response_add(self, request, obj, post_url_continue=None):
        self._saved(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        self._saved(request, obj)
        return super().response_change(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Inside the admin's transaction: an invalid whole rolls every row back.
        policy_record_revision(
            policy=form.instance, editor=request.user, reason=form.cleaned_data["change_reason"]
        )

    def get_urls(self):
        return [
            path(
                "<int:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="policies_governancepolicy_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id: int):
        """Edit the policy as JSON, see which recent decisions would change, then save."""
        policy = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.role_allows_for(request, Capability.EDIT_POLICY, policy):
            raise PermissionDenied
        draft = snapshot_of(policy)
        draft_text = json.dumps(draft, indent=2, default=str)
        results, error = None, None
        if request.method == "POST":
            draft_text = request.POST.get("draft", "")
            posted_limit = request.POST.get("limit", "")
            limit = int(posted_limit) if posted_limit.isdecimal() else PREVIEW_DEFAULT_LIMIT
            try:
                draft = json.loads(draft_text)
                policy_validate_snapshot(draft)
                if request.POST.get("save") == "yes":
                    saved = policy_save_snapshot(
                        project=policy.project,
                        snapshot=draft,
                        editor=request.user,
                        reason=request.POST.get("reason", ""),
                    )
                    self.message_user(request, f"Saved as {saved}.", messages.SUCCESS)
                    for warning in policy_warnings(snapshot_of(saved)):
                        self.message_user(request, f"Warning: {warning}", messages.WARNING)
                    return HttpResponseRedirect(
                        reverse("admin:policies_governancepolicy_change", args=[policy.pk])
                    )
                results = policy_preview(project=policy.project, draft=draft, limit=limit)
            except json.JSONDecodeError as exc:
                draft = None
                error = f"The draft is not valid JSON: {exc}"
            except DomainError as refusal:
                error = f"{refusal.message} {refusal.details or ''}"
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview a draft of {policy}",
            "opts": self.model._meta,
            "original": policy,
            "draft": draft_text,
            "results": results,
            "error": error,
            "limit": PREVIEW_DEFAULT_LIMIT,
            "policy_warnings": policy_warnings(draft) if isinstance(draft, dict) else [],
        }
        return TemplateResponse(request, "admin/policies/governancepolicy/preview.html", context)


@admin.register(DecisionLog)
class DecisionLogAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "project",
        "kind",
        "outcome",
        "policy_version",
        "risk_score",
        "duration_us",
        "requester",
    ]
    list_filter = ["kind", "outcome", ProjectListFilter]
    list_select_related = ["project"]
    show_full_result_count = False
    readonly_fields = [f.name for f in DecisionLog._meta.fields]


OUTCOME_COLOURS = [("allow", "#198754"), ("require_approval", "#b58100"), ("deny", "#b02a37")]
DECISION_DAYS = 7


def decisions_figure(request) -> FigureData | None:
    """The policy's decisions per day (last week) by outcome: one GROUP BY over the recent-index."""
    if not allowed_somewhere(request.user, Capability.VIEW):
        return None
    today = timezone.localdate()
    since = today - timedelta(days=DECISION_DAYS - 1)
    rows = (
        DecisionLog.objects.filter(
            project__in=projects_where(request.user, Capability.VIEW),
            created_at__date__gte=since,
        )
        .order_by()
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "outcome")
        .annotate(n=Count("pk"))
    )
    counts = {(day, outcome): n for day, outcome, n in rows}
    listing = reverse("admin:policies_decisionlog_changelist")
    bars = []
    for offset in range(DECISION_DAYS):
        day = since + timedelta(days=offset)
        bars.append(
            Bar(
                label=day.strftime("%a %d %b"),
                segments=[
                    Segment(
                        counts.get((day, outcome), 0),
                        colour,
                        outcome,
                        f"{listing}?outcome__exact={outcome}",
                    )
                    for outcome, colour in OUTCOME_COLOURS
                ],
            )
        )
    return FigureData(
        bars=bars,
        legend=[(colour, outcome.replace("_", " ")) for outcome, colour in OUTCOME_COLOURS],
        empty="No decision this week.",
        link=listing,
        link_label="All decisions",
    )


register_figure(Figure("decisions", "Policy decisions per day, by outcome", 40, decisions_figure))
