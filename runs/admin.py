from django.contrib import admin
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html

from approvals.inbox import (
    InboxLine,
    Outcome,
    register_inbox_describer,
    register_run_choices,
    register_run_filter,
)
from approvals.models import ApprovalKind, ApprovalStatus
from autopack_site.admin_tools import (
    ProjectListFilter,
    ProjectScopedAdminMixin,
    ReadOnlyInline,
    confirmed_action,
)
from autopack_site.roles import Capability, allowed_somewhere, projects_where
from autopack_site.security.dashboard import Bar, Figure, FigureData, Segment, register_figure
from runs import selectors, services
from runs.models import Attempt, Patch, Phase, Run, RunEvent, RunStatus


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
        "waiting_on",
        "progress",
        "created_at",
        "finished_at",
    ]
    # Subqueries (given the run's id as an OuterRef) naming approval ids the run waits on: its
    # patches' here, its actions' registered by the ledger's admin (which runs cannot import).
    waiting_sources: list = [
        lambda outer: Patch.objects.filter(
            run_id=outer, approval__status=ApprovalStatus.PENDING
        ).values("approval_id")
    ]

    @classmethod
    def register_waiting_source(cls, source) -> None:
        cls.waiting_sources.append(source)

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
        waiting = [
            Subquery(source(OuterRef("pk")).order_by("approval_id")[:1])
            for source in self.waiting_sources
        ]
        return (
            super()
            .get_queryset(request)
            .annotate(
                waiting_approval=waiting[0] if len(waiting) == 1 else Coalesce(*waiting),
                phases_total=Count("phases", distinct=True),
                phases_done=Count(
                    "phases", filter=Q(phases__status__in=["completed", "skipped"]), distinct=True
                ),
            )
        )

    @staticmethod
    def visible_projects(http_request):
        return projects_where(http_request.user, Capability.VIEW)

    @admin.display(description="status", ordering="status")
    def coloured_status(self, run: Run) -> str:
        return format_html(
            '<strong style="color:{}">{}</strong>', STATUS_COLOURS[run.status], run.status
        )

    @admin.display(description="waiting on")
    def waiting_on(self, run: Run) -> str:
        approval_id = getattr(run, "waiting_approval", None)
        if not approval_id:
            return "—"
        url = reverse("admin:approvals_approvalrequest_change", args=[approval_id])
        return format_html(
            '<a href="{}" style="color:#b58100">waiting on approval {}</a>', url, approval_id
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


# --- the inbox's lines for patches, and its run filter ------------------------------------------
def _matched(changed_file: dict, category: str) -> bool:
    return any(m.get("category") == category for m in changed_file.get("matched") or [])


def describe_patches(requests) -> dict[int, InboxLine]:
    """One query for the page's patches with their runs and phases."""
    patches = {
        patch.pk: patch
        for patch in Patch.objects.filter(pk__in=[r.target_id for r in requests if r.target_id])
        .select_related("run", "phase")
        .only(
            "id",
            "files",
            "lines_added",
            "lines_removed",
            "diff_sha256",
            "run__id",
            "run__family",
            "run__run_id",
            "phase__id",
            "phase__key",
        )
    }
    lines = {}
    for request in requests:
        patch = patches.get(request.target_id)
        if patch is None:
            continue
        files = patch.files or []
        protected = sum(1 for f in files if _matched(f, "protected"))
        denied = sum(1 for f in files if _matched(f, "denied"))
        hits = ", ".join(
            part
            for part in (
                f"{protected} protected" if protected else "",
                f"{denied} denied" if denied else "",
            )
            if part
        )
        what = f"patch: {len(files)} file{'s' if len(files) != 1 else ''}"
        what += f" ({hits})" if hits else ""
        what += f", +{patch.lines_added} -{patch.lines_removed} — {request.title}"
        run_url = reverse("admin:runs_run_change", args=[patch.run_id])
        lines[request.pk] = InboxLine(
            what=what,
            target_label=f"patch #{patch.pk} (diff {patch.diff_sha256[:12]}…)",
            target_url=run_url,
            run_label=str(patch.run),
            run_url=run_url,
            phase=patch.phase.key if patch.phase_id else "",
            effect_class="reversible",
            after_approve=(
                "Nothing is applied by Autopack: the agent is told (callback or polling) that "
                "this exact diff is approved and applies it in its own working copy."
            ),
            after_reject=(
                "The agent is told the patch is rejected, with your reason; it may submit a "
                "new one."
            ),
            outcome=Outcome(status=request.status, url=run_url, finished=True),
        )
    return lines


def _active_runs(http_request) -> list[tuple[str, str]]:
    runs = (
        Run.objects.filter(
            project__in=RunAdmin.visible_projects(http_request),
            status__in=[RunStatus.PENDING, RunStatus.RUNNING, RunStatus.PAUSED],
        )
        .order_by("-created_at", "-id")
        .only("id", "family", "run_id")[:20]
    )
    return [(str(run.pk), str(run)) for run in runs]


register_inbox_describer(ApprovalKind.PATCH, describe_patches)
register_run_filter(
    ApprovalKind.PATCH,
    lambda run_id: Q(
        kind=ApprovalKind.PATCH, target_id__in=Patch.objects.filter(run_id=run_id).values("pk")
    ),
)
register_run_choices(_active_runs)


def runs_figure(request) -> FigureData | None:
    """Runs by status: one GROUP BY."""
    if not allowed_somewhere(request.user, Capability.VIEW):
        return None
    counts = dict(
        Run.objects.filter(project__in=projects_where(request.user, Capability.VIEW))
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    listing = reverse("admin:runs_run_changelist")
    bars = [
        Bar(
            label=status,
            url=f"{listing}?status__exact={status}",
            segments=[Segment(counts.get(status, 0), STATUS_COLOURS[status], status)],
        )
        for status in RunStatus.values
    ]
    return FigureData(bars=bars, empty="No runs yet.", link=listing, link_label="All runs")


register_figure(Figure("runs", "Runs by status", 30, runs_figure))
