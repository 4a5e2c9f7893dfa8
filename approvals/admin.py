"""The approval inbox: what is asked, exactly what will happen, why the policy stopped it."""

import json
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from approvals.inbox import InboxLine, describe, requests_about_run, run_choices
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
from autopack_site.roles import Capability, allowed_somewhere, projects_where
from autopack_site.security.dashboard import Bar, Figure, FigureData, Segment, register_figure

LOW_RISK = 0.3  # bulk approval is offered only at or below this risk


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


AGES = [  # (parameter, label, older than, at most)
    ("lt1h", "< 1 h", None, timedelta(hours=1)),
    ("1to4h", "1-4 h", timedelta(hours=1), timedelta(hours=4)),
    ("4to24h", "4-24 h", timedelta(hours=4), timedelta(hours=24)),
    ("gt24h", "> 24 h", timedelta(hours=24), None),
]
RISKS = [  # (parameter, label, colour, condition)
    ("low", "low risk", "#198754", Q(risk_score__lte=LOW_RISK)),
    ("medium", "medium risk", "#b58100", Q(risk_score__gt=LOW_RISK, risk_score__lte=0.7)),
    ("high", "high risk", "#b02a37", Q(risk_score__gt=0.7)),
]


def _age_q(now, older: timedelta | None, at_most: timedelta | None) -> Q:
    condition = Q()
    if older is not None:
        condition &= Q(created_at__lte=now - older)
    if at_most is not None:
        condition &= Q(created_at__gt=now - at_most)
    return condition


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [(key, label) for key, label, _older, _at_most in AGES]

    def queryset(self, request, queryset):
        for key, _label, older, at_most in AGES:
            if self.value() == key:
                return queryset.filter(_age_q(timezone.now(), older, at_most))
        return queryset


def pretty_json(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


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


class RunFilter(admin.SimpleListFilter):
    """Requests about one run: each kind says which of its targets belong to the run
    (approvals/inbox.py); the choices are the runs the runs app lists as active."""

    title = "run"
    parameter_name = "run"

    def lookups(self, request, model_admin):
        return run_choices(request)

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(requests_about_run(int(value)))


class InboxChangeList(ChangeList):
    """Describes the page's rows once, kind by kind (bounded queries however long the inbox)."""

    def get_results(self, request):
        super().get_results(request)
        lines = describe(list(self.result_list))
        for obj in self.result_list:
            obj.inbox_line = lines[obj.pk]


def _line(obj: ApprovalRequest) -> InboxLine:
    line = getattr(obj, "inbox_line", None)
    if line is None:
        line = obj.inbox_line = describe([obj])[obj.pk]
    return line


EFFECT_COLOURS = {
    "spends money": "#b02a37",
    "publishes": "#b02a37",
    "irreversible": "#b58100",
    "reversible": "#198754",
}


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """The inbox is the deciders': only who may decide in a project sees its requests (and
    requests change only through decisions)."""

    view_capability = Capability.DECIDE_APPROVALS
    list_display = ["id", "item", "run_phase", "effect", "risk", "timing", "state"]
    list_display_links = ["id"]
    list_filter = [StatusFilter, "kind", RiskFilter, AgeFilter, ProjectListFilter, RunFilter]
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

    def get_changelist(self, request, **kwargs):
        return InboxChangeList

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

    # --- columns: one line that says what it does ------------------------------------------------
    @admin.display(description="what it does", ordering="title")
    def item(self, obj: ApprovalRequest) -> str:
        line = _line(obj)
        url = reverse("admin:approvals_approvalrequest_change", args=[obj.pk])
        return format_html(
            '<a href="{}" class="inbox-what"><strong>{}</strong></a><br>'
            '<span class="inbox-sub">{} · {} · by {}</span>',
            url,
            line.what,
            obj.get_kind_display(),
            obj.project.slug,
            obj.requester_label,
        )

    @admin.display(description="run / phase")
    def run_phase(self, obj: ApprovalRequest) -> str:
        line = _line(obj)
        if not line.run_label:
            return "—"
        run = (
            format_html('<a href="{}">{}</a>', line.run_url, line.run_label)
            if line.run_url
            else line.run_label
        )
        return format_html('{}<br><span class="inbox-sub">{}</span>', run, line.phase or "—")

    @admin.display(description="side effect")
    def effect(self, obj: ApprovalRequest) -> str:
        effect = _line(obj).effect_class or "—"
        return format_html(
            '<span style="color:{}">{}</span>', EFFECT_COLOURS.get(effect, "#555"), effect
        )

    @admin.display(description="risk", ordering="risk_score")
    def risk(self, obj: ApprovalRequest) -> str:
        return risk_bar(obj.risk_score)

    @admin.display(description="age · expires", ordering="expires_at")
    def timing(self, obj: ApprovalRequest) -> str:
        age = timesince(obj.created_at, depth=1)
        if obj.status != ApprovalStatus.PENDING:
            return format_html("{}<br>—", age)
        if obj.expires_at <= timezone.now():
            return format_html('{}<br><span style="color:#b02a37">overdue</span>', age)
        return format_html("{}<br>in {}", age, timeuntil(obj.expires_at, depth=1))

    @admin.display(description="status", ordering="status")
    def state(self, obj: ApprovalRequest) -> str:
        return format_html(
            "{}<br>{}/{} approved", obj.status, obj.approvals_count, obj.required_approvals
        )

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
            context["can_decide"] = obj.status == ApprovalStatus.PENDING and self.role_allows_for(
                request, Capability.DECIDE_APPROVALS, obj
            )
            context["reject_reason_codes"] = RejectReasonCode.choices
            context["advice"] = advice_for_page(obj)
            context["show_save"] = context["show_save_and_continue"] = False
        return super().change_view(request, object_id, form_url, extra_context=context)

    def payload_context(self, obj: ApprovalRequest) -> dict:
        explanation = obj.explanation or {}
        payload = obj.payload or {}
        rendered = explanation.get("rendered_request") or payload.get("request")
        shown_payload = {k: v for k, v in payload.items() if k != "diff"}
        return {
            "line": _line(obj),
            "explanation": explanation,
            "reasons": explanation.get("reasons", []),
            "matched_rules": explanation.get("matched_rules", []),
            "risk_factors": [
                {**factor, "contribution": factor.get("weight", 0) * factor.get("value", 0)}
                for factor in (explanation.get("risk") or {}).get("factors", obj.risk_factors)
            ],
            "changed_files": explanation.get("files", []),
            "diff_lines": [(line[:1], line) for line in str(payload.get("diff", "")).splitlines()],
            "rendered_request": rendered,
            "rendered_json": pretty_json(rendered) if rendered else "",
            "side_effects": explanation.get("side_effects") or payload.get("side_effects", []),
            "payload_json": pretty_json(shown_payload),
            "risk_html": risk_bar(obj.risk_score),
            "decided": obj.status != ApprovalStatus.PENDING,
        }

    def decide_view(self, request, object_id: int):
        """Two steps: the buttons on the item page lead to a confirmation that repeats the hash
        and what will happen; only its "Yes" decides."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.role_allows_for(request, Capability.DECIDE_APPROVALS, obj):
            raise PermissionDenied
        approve = request.POST.get("verdict") == "approve"
        reason = request.POST.get("reason", "").strip()
        reason_code = request.POST.get("reason_code", "")
        back = HttpResponseRedirect(
            reverse("admin:approvals_approvalrequest_change", args=[obj.pk])
        )
        if request.POST.get("confirmed") != "yes":
            if not approve and (not reason or not reason_code):
                self.message_user(
                    request,
                    "A rejection needs a reason and a reason code: say what is wrong.",
                    messages.ERROR,
                )
                return back
            line = _line(obj)
            context = {
                **self.admin_site.each_context(request),
                "title": f"{'Approve' if approve else 'Reject'} #{obj.pk}?",
                "opts": self.model._meta,
                "original": obj,
                "line": line,
                "approve": approve,
                "verdict": "approve" if approve else "reject",
                "reason": reason,
                "reason_code": reason_code,
                "reason_code_label": dict(RejectReasonCode.choices).get(reason_code, ""),
                "payload_hash_seen": request.POST.get("payload_hash_seen", ""),
            }
            return TemplateResponse(
                request, "admin/approvals/approvalrequest/confirm_decision.html", context
            )
        try:
            approval_decide(
                request_id=obj.pk,
                user=request.user,
                approve=approve,
                reason=reason,
                reason_code=reason_code,
                payload_hash_seen=request.POST.get("payload_hash_seen", ""),
            )
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
        else:
            verb = "Approved" if approve else "Rejected"
            self.message_user(request, f"{verb} #{obj.pk}.", messages.SUCCESS)
        return back

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
                int(k.removeprefix("hash_")): v
                for k, v in request.POST.items()
                if k.startswith("hash_") and k.removeprefix("hash_").isdecimal()
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


def waiting_figure(request) -> FigureData | None:
    """Pending requests the user decides on, by age and risk: one query of twelve counts."""
    if not allowed_somewhere(request.user, Capability.DECIDE_APPROVALS):
        return None
    now = timezone.now()
    counts = ApprovalRequest.objects.filter(
        status=ApprovalStatus.PENDING,
        project__in=projects_where(request.user, Capability.DECIDE_APPROVALS),
    ).aggregate(
        **{
            f"{age}__{risk}": Count("pk", filter=_age_q(now, older, at_most) & condition)
            for age, _l, older, at_most in AGES
            for risk, _rl, _c, condition in RISKS
        }
    )
    inbox = reverse("admin:approvals_approvalrequest_changelist")
    bars = [
        Bar(
            label=label,
            url=f"{inbox}?age={age}",
            segments=[
                Segment(
                    counts[f"{age}__{risk}"], colour, risk_label, f"{inbox}?age={age}&risk={risk}"
                )
                for risk, risk_label, colour, _c in RISKS
            ],
        )
        for age, label, _o, _a in AGES
    ]
    total = sum(counts.values())
    return FigureData(
        bars=bars,
        legend=[(colour, label) for _r, label, colour, _c in RISKS],
        empty="Nothing waiting for you.",
        link=inbox,
        link_label="Open the inbox",
        summary=format_html(
            '<a href="{}" id="pending-count"><strong>{}</strong> pending approval{}</a> '
            "waiting for a decision.",
            inbox,
            total,
            "" if total == 1 else "s",
        ),
    )


register_figure(Figure("approvals", "Approvals waiting, by age and risk", 10, waiting_figure))
