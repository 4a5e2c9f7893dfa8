"""The approval inbox: what is asked, exactly what will happen, why the policy stopped it."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from approvals.models import (
    ApprovalDecision,
    ApprovalEvent,
    ApprovalRequest,
    ApprovalStatus,
    RejectReasonCode,
    ReviewerSettings,
)
from approvals.reviewer import advice_for_page
from approvals.services import approval_decide
from autopack_site.admin_tools import ProjectListFilter, ProjectScopedAdminMixin, ReadOnlyInline
from autopack_site.errors import DomainError
from autopack_site.paginators import CappedCountPaginator
from autopack_site.roles import Capability

LOW_RISK = 0.3  # bulk approval is offered only at or below this risk

# The admin index leads with the operator's pending count.
admin.site.index_template = "admin/approvals/index.html"


class StatusFilter(admin.SimpleListFilter):
    """Pending by default: the inbox opens on what needs a decision."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("all", "All"), *ApprovalStatus.choices]

    def choices(self, changelist):
        value = self.value() or ApprovalStatus.PENDING
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or ApprovalStatus.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


class RiskFilter(admin.SimpleListFilter):
    title = "risk"
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [("low", "low (≤ 0.3)"), ("medium", "medium"), ("high", "high (> 0.7)")]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(risk_score__lte=LOW_RISK)
        if self.value() == "medium":
            return queryset.filter(risk_score__gt=LOW_RISK, risk_score__lte=0.7)
        if self.value() == "high":
            return queryset.filter(risk_score__gt=0.7)
        return queryset


def risk_bar(score: float) -> str:
    colour = "#198754" if score <= LOW_RISK else "#b58100" if score <= 0.7 else "#b02a37"
    return format_html(
        '<svg width="50" height="8" role="img" aria-label="risk {}">'
        '<rect width="50" height="8" fill="#ddd"/><rect width="{}" height="8" fill="{}"/></svg> {}',
        f"{score:.2f}",
        round(50 * max(0.0, min(score, 1.0))),
        colour,
        f"{score:.2f}",
    )


class DecisionInline(ReadOnlyInline):
    model = ApprovalDecision
    fields = ["created_at", "approver", "verdict", "reason_code", "reason", "payload_hash_seen"]
    readonly_fields = fields


class EventInline(DecisionInline):
    model = ApprovalEvent
    fields = ["created_at", "from_status", "to_status", "actor", "detail"]
    readonly_fields = fields


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """The inbox is the deciders': only who may decide in a project sees its requests (and
    requests change only through decisions)."""

    view_capability = Capability.DECIDE_APPROVALS
    list_display = [
        "id",
        "project",
        "kind",
        "title",
        "risk",
        "requester",
        "age",
        "expires_in",
        "status",
        "quorum",
    ]
    list_display_links = ["id", "title"]
    list_filter = [StatusFilter, "kind", RiskFilter, ProjectListFilter]
    list_select_related = ["project", "requested_by_key", "requested_by_user"]
    search_fields = ["title", "subject", "=payload_hash"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    change_form_template = "admin/approvals/approvalrequest/change_form.html"
    inlines = [DecisionInline, EventInline]
    actions = ["approve_low_risk"]
    fields = [
        "project",
        "kind",
        "status",
        "title",
        "summary",
        "subject",
        "target_id",
        "payload_hash",
        "required_approvals",
        "approvals_count",
        "expires_at",
        "valid_until",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_first=Case(
                    When(status=ApprovalStatus.PENDING, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
            .order_by("pending_first", "expires_at", "id")
        )

    # --- columns ---------------------------------------------------------------------------------
    @admin.display(description="risk", ordering="risk_score")
    def risk(self, obj: ApprovalRequest) -> str:
        return risk_bar(obj.risk_score)

    @admin.display(description="requester")
    def requester(self, obj: ApprovalRequest) -> str:
        return obj.requester_label

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: ApprovalRequest) -> str:
        return timesince(obj.created_at, depth=1)

    @admin.display(description="expires in", ordering="expires_at")
    def expires_in(self, obj: ApprovalRequest) -> str:
        if obj.status != ApprovalStatus.PENDING:
            return "—"
        if obj.expires_at <= timezone.now():
            return format_html('<span style="color:#b02a37">{}</span>', "overdue")
        return timeuntil(obj.expires_at, depth=1)

    @admin.display(description="approvals")
    def quorum(self, obj: ApprovalRequest) -> str:
        return f"{obj.approvals_count}/{obj.required_approvals}"

    # --- the item page: payload, explanation, decide --------------------------------------------
    def get_urls(self):
        return [
            path(
                "<int:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="approvals_approvalrequest_decide",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:
            context.update(self.payload_context(obj))
            context["can_decide"] = obj.status == ApprovalStatus.PENDING
            context["reject_reason_codes"] = RejectReasonCode.choices
            context["advice"] = advice_for_page(obj)
        return super().change_view(request, object_id, form_url, extra_context=context)

    def payload_context(self, obj: ApprovalRequest) -> dict:
        explanation = obj.explanation or {}
        payload = obj.payload or {}
        return {
            "explanation": explanation,
            "reasons": explanation.get("reasons", []),
            "matched_rules": explanation.get("matched_rules", []),
            "risk_factors": [
                {**factor, "contribution": factor.get("weight", 0) * factor.get("value", 0)}
                for factor in (explanation.get("risk") or {}).get("factors", obj.risk_factors)
            ],
            "hint": explanation.get("hint", ""),
            "changed_files": explanation.get("files", []),
            "diff_lines": [(line[:1], line) for line in str(payload.get("diff", "")).splitlines()],
            "rendered_request": explanation.get("rendered_request") or payload.get("request"),
            "side_effects": explanation.get("side_effects") or payload.get("side_effects", []),
            "payload": payload,
            "risk_html": risk_bar(obj.risk_score),
        }

    def decide_view(self, request, object_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.role_allows_for(request, Capability.DECIDE_APPROVALS, obj):
            raise PermissionDenied
        approve = request.POST.get("verdict") == "approve"
        try:
            approval_decide(
                request_id=obj.pk,
                user=request.user,
                approve=approve,
                reason=request.POST.get("reason", "").strip(),
                reason_code=request.POST.get("reason_code", ""),
                payload_hash_seen=request.POST.get("payload_hash_seen", ""),
            )
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
        else:
            verb = "Approved" if approve else "Rejected"
            self.message_user(request, f"{verb} #{obj.pk}.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:approvals_approvalrequest_change", args=[obj.pk])
        )

    # --- bulk approval, low risk only, through a confirmation page ------------------------------
    @admin.action(
        description="Approve selected low-risk requests…",
        permissions=[Capability.DECIDE_APPROVALS.value],
    )
    def approve_low_risk(self, request, queryset):
        eligible = list(queryset.filter(status=ApprovalStatus.PENDING, risk_score__lte=LOW_RISK))
        skipped = queryset.count() - len(eligible)
        if request.POST.get("confirmed") == "yes":
            seen = {
                int(k.split("_", 1)[1]): v for k, v in request.POST.items() if k.startswith("hash_")
            }
            done = 0
            for item in eligible:
                try:
                    approval_decide(
                        request_id=item.pk,
                        user=request.user,
                        approve=True,
                        reason=request.POST.get("reason", "").strip() or "bulk approval",
                        payload_hash_seen=seen.get(item.pk, ""),
                    )
                    done += 1
                except DomainError as refusal:
                    self.message_user(request, f"#{item.pk}: {refusal.message}", messages.ERROR)
            if done:
                self.message_user(request, f"Approved {done} request(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Approve these low-risk requests?",
            "items": eligible,
            "skipped": skipped,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "low_risk": LOW_RISK,
        }
        return TemplateResponse(
            request, "admin/approvals/approvalrequest/bulk_approve.html", context
        )


@admin.register(ReviewerSettings)
class ReviewerSettingsAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """The advisory reviewer per project: on or off, and which Claude model. It stays off
    without ANTHROPIC_API_KEY in the project's secret namespace (shown here)."""

    list_display = ["project", "enabled", "model", "key_present", "updated_at"]
    list_filter = [ProjectListFilter]
    fields = ["project", "enabled", "model", "key_present"]
    readonly_fields = ["key_present"]
    add_capability = Capability.MANAGE_PROJECT
    change_capability = Capability.MANAGE_PROJECT

    @admin.display(description="ANTHROPIC_API_KEY present", boolean=True)
    def key_present(self, row: ReviewerSettings) -> bool:
        from approvals.reviewer import api_key_for

        return bool(row.pk and api_key_for(row.project))
