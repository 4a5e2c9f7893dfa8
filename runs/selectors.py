"""Reads for runs, always scoped to one project."""

from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum

from autopack_site.models import Project
from runs.models import Attempt, Patch, Phase, Run, RunEvent, UsageEvent

MICRO_USD = Decimal("0.000001")  # the precision UsageEvent.cost_usd stores


def runs_for_project(*, project: Project, status: str | None = None) -> QuerySet[Run]:
    runs = Run.objects.filter(project=project).select_related("project")
    if status:
        runs = runs.filter(status=status)
    return runs


def run_get(*, project: Project, run_pk: int) -> Run | None:
    return runs_for_project(project=project).filter(pk=run_pk).first()


def run_get_detailed(*, project: Project, run_pk: int) -> Run | None:
    """The run with phases (and their dependency keys) and attempts, in a fixed query count."""
    return (
        runs_for_project(project=project)
        .prefetch_related(
            Prefetch(
                "phases",
                queryset=Phase.objects.order_by("position").prefetch_related(
                    Prefetch("depends_on", queryset=Phase.objects.only("id", "key"))
                ),
            ),
            Prefetch("attempts", queryset=Attempt.objects.order_by("started_at", "id")),
        )
        .filter(pk=run_pk)
        .first()
    )


def attempt_get(*, project: Project, attempt_pk: int) -> Attempt | None:
    return (
        Attempt.objects.select_related("phase", "run", "run__project")
        .filter(pk=attempt_pk, run__project=project)
        .first()
    )


def usage_totals(*, run: Run) -> dict:
    """Totals per run and per provider/model, summed in SQL."""
    events = UsageEvent.objects.filter(run=run)
    by_model = list(
        events.values("provider", "model")
        .annotate(
            events=Count("id"),
            tokens_in=Sum("tokens_in"),
            tokens_out=Sum("tokens_out"),
            cost_usd=Sum("cost_usd"),
        )
        .order_by("provider", "model")
    )
    for row in by_model:
        row["cost_usd"] = Decimal(row["cost_usd"]).quantize(MICRO_USD)
    return {
        "events": sum(row["events"] for row in by_model),
        "tokens_in": sum(row["tokens_in"] for row in by_model),
        "tokens_out": sum(row["tokens_out"] for row in by_model),
        "cost_usd": str(
            sum((row["cost_usd"] for row in by_model), Decimal("0")).quantize(MICRO_USD)
        ),
        "by_model": [{**row, "cost_usd": str(row["cost_usd"])} for row in by_model],
    }


def phase_dependency_keys(*, phase: Phase) -> list[str]:
    return list(phase.depends_on.order_by("position").values_list("key", flat=True))


def usage_events_for_run(*, run: Run) -> QuerySet[UsageEvent]:
    return run.usage_events.order_by("created_at", "id")


def events_for_run(*, run: Run) -> QuerySet[RunEvent]:
    """The run's, its phases' and its attempts' status changes, oldest first."""
    return run.events.select_related("phase").order_by("created_at", "id")


def patches_for_run(*, run: Run) -> QuerySet[Patch]:
    return Patch.objects.filter(run=run).select_related("phase", "approval").order_by("-id")
