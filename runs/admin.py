from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html

from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ReadOnlyInline,
    confirmed_action,
)
from autopack_site.roles import Capability
from runs import selectors, services
from runs.models import Attempt, Phase, Run, RunEvent, RunStatus


class PhaseInline(ReadOnlyInline):
    model = Phase
    fields = ["position", "key", "name", "status", "attempts_used", "max_attempts", "dependencies"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("depends_on")

    @admin.display(description="depends on")
    def dependencies(self, phase: Phase) -> str:
        return ", ".join(dep.key for dep in phase.depends_on.all()) or "—"


class AttemptInline(ReadOnlyInline):
    model = Attempt
    fields = [
        "phase",
        "number",
        "status",
        "lease_expires_at",
        "heartbeat_at",
        "error_type",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("phase")


class RunEventInline(ReadOnlyInline):
    model = RunEvent
    fields = ["created_at", "from_status", "to_status", "actor", "reason"]
    readonly_fields = fields


def _actor(user) -> str:
    return f"user:{user.get_username()}"


def _pause(run, user, reason):
    services.run_pause(run=run, actor=_actor(user), reason=reason)


def _resume(run, user, reason):
    services.run_resume(run=run, actor=_actor(user), reason=reason)


def _cancel(run, user, reason):
    services.run_cancel(run=run, actor=_actor(user), reason=reason)


STATUS_COLOURS = {
    RunStatus.PENDING: "#777",
    RunStatus.RUNNING: "#0a58ca",
    RunStatus.PAUSED: "#b58100",
    RunStatus.COMPLETED: "#198754",
    RunStatus.FAILED: "#b02a37",
    RunStatus.CANCELLED: "#555",
}


@admin.register(Run)
class RunAdmin(ProjectScopedAdminMixin, admin.ModelAdmin):
    """Runs are created by agents through the API and change only through the actions."""

    list_display = [
        "__str__",
        "project",
        "coloured_status",
        "progress",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", ProjectListFilter]
    list_select_related = ["project"]
    search_fields = ["family", "run_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = [
        "project",
        "family",
        "run_id",
        "status",
        "layout",
        "config",
        "config_hash",
        "usage_totals",
        "created_by_key",
        "created_at",
        "updated_at",
        "finished_at",
    ]
    fields = readonly_fields
    inlines = [PhaseInline, AttemptInline, RunEventInline]
    actions = [
        confirmed_action(
            description="Pause selected runs",
            verb="Pause",
            service=_pause,
            capability=Capability.OPERATE_RUNS,
        ),
        confirmed_action(
            description="Resume selected runs",
            verb="Resume",
            service=_resume,
            capability=Capability.OPERATE_RUNS,
        ),
        confirmed_action(
            description="Cancel selected runs",
            verb="Cancel",
            service=_cancel,
            capability=Capability.OPERATE_RUNS,
            needs_reason=True,
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                phases_total=Count("phases", distinct=True),
                phases_done=Count(
                    "phases", filter=Q(phases__status__in=["completed", "skipped"]), distinct=True
                ),
            )
        )

    @admin.display(description="status", ordering="status")
    def coloured_status(self, run: Run) -> str:
        return format_html(
            '<strong style="color:{}">{}</strong>', STATUS_COLOURS[run.status], run.status
        )

    @admin.display(description="phases done")
    def progress(self, run: Run) -> str:
        total = run.phases_total or 1
        width = round(60 * run.phases_done / total)
        return format_html(
            '<svg width="60" height="8" role="img" aria-label="{} of {}">'
            '<rect width="60" height="8" fill="#ddd"/><rect width="{}" height="8" fill="#198754"/>'
            "</svg> {}/{}",
            run.phases_done,
            run.phases_total,
            width,
            run.phases_done,
            run.phases_total,
        )

    @admin.display(description="layout path")
    def layout(self, run: Run) -> str:
        return format_html("<code>{}</code>", run.layout_path)

    @admin.display(description="usage")
    def usage_totals(self, run: Run) -> str:
        totals = selectors.usage_totals(run=run)
        return format_html(
            "{} events · {} tokens in · {} tokens out · ${}",
            totals["events"],
            totals["tokens_in"],
            totals["tokens_out"],
            totals["cost_usd"],
        )
