"""Trading accounts for people: state, mode, today's counters against limits, recent decisions
and risk events; the kill switch engaged or released (a trading supervisor, with a reason,
through a confirmation page). Limits change through trading's services only."""

from django.contrib import admin
from django.utils.html import format_html

from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ReadOnlyInline,
    confirmed_action,
)
from autopack_site.roles import Capability
from trading.models import OrderDecision, RiskEvent, SwitchStatus, TradingAccount
from trading.services import kill_switch_set


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
    list_display = ["name", "project", "mode", "status", "kill_switch_state", "orders_today"]
    list_filter = [ProjectListFilter, "mode", "status"]
    list_select_related = ["project", "kill_switch", "day"]
    inlines = [DecisionInline, RiskEventInline]
    actions = [
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
    ]
    readonly_fields = fields

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
