"""Trading accounts for people: state, mode, today's counters against limits, recent decisions,
risk events and what reconciliation found at the broker; the kill switch engaged or released
and a reconciliation run now (a trading supervisor, through a confirmation page); limits edited
on their own page by a policy editor or trading supervisor under rule 5 (tightening applies at
once, loosening waits for a limit_change approval). The list is the supervisors' view across
the accounts of every project they supervise."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from autopack_site.actors import actor_of_user
from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ReadOnlyInline,
    confirmed_action,
)
from autopack_site.errors import DomainError
from autopack_site.roles import Capability
from trading.models import (
    LIMIT_FIELDS,
    BrokerOrder,
    OrderDecision,
    RiskEvent,
    SwitchStatus,
    TradingAccount,
)
from trading.services import account_limits_change, account_reconcile, kill_switch_set

LIMIT_EDITORS = (Capability.EDIT_POLICY, Capability.SUPERVISE_TRADING)


class RiskEventInline(ReadOnlyInline):
    model = RiskEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields
    ordering = ["-id"]
    max_num = 0


class DecisionInline(ReadOnlyInline):
    model = OrderDecision
    fields = ["created_at", "client_order_id", "side", "qty", "symbol", "order_value", "status"]
    readonly_fields = fields
    ordering = ["-id"]
    max_num = 0


class BrokerOrderInline(ReadOnlyInline):
    model = BrokerOrder
    verbose_name_plural = "orders seen at the broker (unknown ones halted the account)"
    fields = ["first_seen_at", "known", "broker_order_id", "client_order_id", "side", "qty"]
    fields += ["symbol", "status"]
    readonly_fields = fields
    ordering = ["known", "-id"]
    max_num = 0


class LimitsForm(forms.Form):
    max_order_value = forms.DecimalField(min_value=0, max_digits=18, decimal_places=4)
    max_position_value = forms.DecimalField(min_value=0, max_digits=18, decimal_places=4)
    max_orders_per_day = forms.IntegerField(min_value=0)
    max_daily_loss = forms.DecimalField(min_value=0, max_digits=18, decimal_places=4)
    max_exposure = forms.DecimalField(min_value=0, max_digits=18, decimal_places=4)
    max_drawdown_pct = forms.DecimalField(min_value=0, max_value=100, decimal_places=2)
    max_orders_per_minute = forms.IntegerField(min_value=0)
    price_band_pct = forms.DecimalField(min_value=0, max_value=100, decimal_places=2)
    allowed_symbols = forms.CharField(
        required=False, help_text="Comma-separated; empty allows every symbol."
    )
    reason = forms.CharField(max_length=500)

    def clean_allowed_symbols(self) -> list[str]:
        raw = self.cleaned_data.get("allowed_symbols") or ""
        return sorted({s.strip().upper() for s in raw.split(",") if s.strip()})


def _limits_initial(account: TradingAccount) -> dict:
    initial = {name: getattr(account, name) for name in LIMIT_FIELDS}
    initial["allowed_symbols"] = ", ".join(account.allowed_symbols or [])
    return initial


def _changed_limits(account: TradingAccount, cleaned: dict) -> dict:
    changed = {}
    for name in LIMIT_FIELDS:
        value, current = cleaned[name], getattr(account, name)
        if name == "allowed_symbols":
            if sorted(value) != sorted(current or []):
                changed[name] = value
        elif Decimal(str(value)) != Decimal(str(current)):
            changed[name] = value
    return changed


def _reconcile(account: TradingAccount, user, reason: str) -> None:
    account_reconcile(account_id=account.pk, actor=actor_of_user(user))


def _bar(used, limit) -> str:
    """A small server-rendered SVG bar: used against limit."""
    share = 0 if not limit else min(float(used) / float(limit), 1.0)
    colour = "#c0392b" if share >= 1 else "#e67e22" if share >= 0.8 else "#27ae60"
    return format_html(
        '<svg width="160" height="12" role="img" aria-label="{} of {}">'
        '<rect width="160" height="12" fill="#eee"/>'
        '<rect width="{}" height="12" fill="{}"/></svg> {} / {}',
        used,
        limit,
        int(160 * share),
        colour,
        used,
        limit,
    )


@admin.register(TradingAccount)
class TradingAccountAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "project",
        "mode",
        "status",
        "kill_switch_state",
        "orders_today",
        "exposure",
        "daily_loss",
        "reconciled_at",
    ]
    list_filter = [ProjectListFilter, "mode", "status"]
    list_select_related = ["project", "kill_switch", "day"]
    inlines = [DecisionInline, RiskEventInline, BrokerOrderInline]
    change_form_template = "admin/trading/tradingaccount/change_form.html"
    actions = [
        confirmed_action(
            description="Reconcile with the broker now",
            verb="Reconcile",
            service=_reconcile,
            capability=Capability.SUPERVISE_TRADING,
        ),
        confirmed_action(
            description="Engage the kill switch",
            verb="Engage kill switch",
            service=lambda account, user, reason: kill_switch_set(
                account=account, engaged=True, reason=reason, user=user
            ),
            capability=Capability.SUPERVISE_TRADING,
            needs_reason=True,
        ),
        confirmed_action(
            description="Release the kill switch",
            verb="Release kill switch",
            service=lambda account, user, reason: kill_switch_set(
                account=account, engaged=False, reason=reason, user=user
            ),
            capability=Capability.SUPERVISE_TRADING,
            needs_reason=True,
        ),
    ]
    fields = [
        "project",
        "name",
        "broker",
        "mode",
        "status",
        "kill_switch_state",
        "orders_today",
        "exposure",
        "daily_loss",
        "limits",
        "reconciled_at",
        "reconcile_error",
        "broker_drift",
    ]
    readonly_fields = fields

    def get_urls(self):
        return [
            path(
                "<int:object_id>/limits/",
                self.admin_site.admin_view(self.limits_view),
                name="trading_tradingaccount_limits",
            ),
            *super().get_urls(),
        ]

    def may_edit_limits(self, request, account: TradingAccount) -> bool:
        return any(self.role_allows_for(request, c, account) for c in LIMIT_EDITORS)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        extra = {"may_edit_limits": account is not None and self.may_edit_limits(request, account)}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def limits_view(self, request, object_id: int):
        """Edit the limits: tightening applies at once, loosening opens a limit_change approval
        (decided by someone else) and applies only when approved."""
        account = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.may_edit_limits(request, account):
            raise PermissionDenied
        form = LimitsForm(request.POST or None, initial=_limits_initial(account))
        if request.method == "POST" and form.is_valid():
            changed = _changed_limits(account, form.cleaned_data)
            if not changed:
                self.message_user(request, "Nothing changed.", messages.INFO)
            else:
                try:
                    after, approval_id = account_limits_change(
                        account=account,
                        limits=changed,
                        reason=form.cleaned_data["reason"],
                        user=request.user,
                    )
                except DomainError as refusal:
                    form.add_error(None, refusal.message)
                else:
                    applied = [n for n in changed if getattr(after, n) == changed[n]]
                    if applied:
                        self.message_user(
                            request, f"Applied now: {', '.join(applied)}.", messages.SUCCESS
                        )
                    if approval_id:
                        self.message_user(
                            request,
                            f"Loosening waits for approval #{approval_id}: "
                            f"{', '.join(n for n in changed if n not in applied)}.",
                            messages.WARNING,
                        )
                    return HttpResponseRedirect(
                        reverse("admin:trading_tradingaccount_change", args=[account.pk])
                    )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Limits of {account.name}",
            "opts": self.model._meta,
            "original": account,
            "form": form,
        }
        return TemplateResponse(request, "admin/trading/tradingaccount/limits.html", context)

    @admin.display(description="kill switch")
    def kill_switch_state(self, account: TradingAccount) -> str:
        switch = account.kill_switch
        if switch.status == SwitchStatus.ENGAGED:
            return f"ENGAGED by {switch.changed_by}: {switch.reason}"
        return "released"

    @admin.display(description="orders today")
    def orders_today(self, account: TradingAccount) -> str:
        return _bar(account.day.orders_today, account.max_orders_per_day)

    @admin.display(description="exposure (positions + reserved)")
    def exposure(self, account: TradingAccount) -> str:
        return _bar(account.day.exposure, account.max_exposure)

    @admin.display(description="realised loss today")
    def daily_loss(self, account: TradingAccount) -> str:
        return _bar(max(-account.day.realised_pnl_today, 0), account.max_daily_loss)

    @admin.display(description="limits")
    def limits(self, account: TradingAccount) -> dict:
        return account.limits_snapshot()
