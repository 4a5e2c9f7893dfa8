"""Reads for runs, always scoped to one project."""

from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum

from autopack_site.models import Project
from runs.models import Attempt, Patch, Phase, Run, UsageEvent

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


def run_export(*, project: Project, run_pk: int) -> dict | None:
    """The whole run as one JSON-ready document: phases, attempts, usage, events."""
    run = run_get_detailed(project=project, run_pk=run_pk)
    if run is None:
        return None
    from runs.serializers import run_document  # avoids a selectors ↔ serializers import cycle

    document = run_document(run, usage=usage_totals(run=run))
    document["usage_events"] = [
        {
            "id": event.pk,
            "attempt": event.attempt_id,
            "provider": event.provider,
            "model": event.model,
            "tokens_in": event.tokens_in,
            "tokens_out": event.tokens_out,
            "cost_usd": str(event.cost_usd),
            "created_at": event.created_at.isoformat(),
        }
        for event in run.usage_events.order_by("created_at", "id")
    ]
    document["events"] = [
        {
            "phase": event.phase.key if event.phase_id else None,
            "attempt": event.attempt_id,
            "from": event.from_status,
            "to": event.to_status,
            "actor": event.actor,
            "reason": event.reason,
            "at": event.created_at.isoformat(),
        }
        for event in run.events.select_related("phase").order_by("created_at", "id")
    ]
    return document


def patches_for_run(*, run: Run) -> QuerySet[Patch]:
    return Patch.objects.filter(run=run).select_related("phase", "approval").order_by("-id")
