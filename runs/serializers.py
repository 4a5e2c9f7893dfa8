"""ORM rows → the response models in runs.schemas."""

from autopack_site.actors import actor_for_agents
from policies.schemas import PatchOut, PolicyDecisionOut
from policies.serializers import decision_out_fields
from runs.models import Attempt, Patch, Phase, Run, UsageEvent
from runs.schemas import (
    AttemptOut,
    PhaseOut,
    RunOut,
    RunSummaryOut,
    UsageEventOut,
    UsageTotalsOut,
)


def attempt_out(attempt: Attempt, phase_key: str) -> AttemptOut:
    return AttemptOut(
        id=attempt.pk,
        run=attempt.run_id,
        phase=phase_key,
        number=attempt.number,
        status=attempt.status,
        lease_expires_at=attempt.lease_expires_at,
        idempotency_key=attempt.idempotency_key,
        checkpoint=attempt.checkpoint,
        error_type=attempt.error_type,
        error_message=attempt.error_message,
        started_at=attempt.started_at,
        heartbeat_at=attempt.heartbeat_at,
        finished_at=attempt.finished_at,
    )


def phase_out(phase: Phase, depends_on: list[str]) -> PhaseOut:
    return PhaseOut(
        key=phase.key,
        name=phase.name,
        position=phase.position,
        status=phase.status,
        depends_on=depends_on,
        max_attempts=phase.max_attempts,
        attempts_used=phase.attempts_used,
    )


def run_out(run: Run, *, usage: dict | None = None) -> RunOut:
    """Expects run_get_detailed's prefetches (phases with depends_on, attempts)."""
    phases = list(run.phases.all())
    key_by_id = {phase.pk: phase.key for phase in phases}
    return RunOut(
        id=run.pk,
        project=run.project.slug,
        family=run.family,
        run_id=run.run_id,
        status=run.status,
        config=run.config,
        config_hash=run.config_hash,
        layout_path=run.layout_path,
        created_at=run.created_at,
        updated_at=run.updated_at,
        finished_at=run.finished_at,
        phases=[phase_out(p, [d.key for d in p.depends_on.all()]) for p in phases],
        attempts=[attempt_out(a, key_by_id.get(a.phase_id, "")) for a in run.attempts.all()],
        usage=UsageTotalsOut.model_validate(usage) if usage is not None else None,
    )


def run_export_document(run: Run, *, usage: dict, usage_events, events) -> dict:
    """The whole run as one JSON document (phases, attempts, usage, every status change). Free
    text and free-form JSON were redacted when they were written (runs/services)."""
    document = run_out(run, usage=usage).model_dump(mode="json")
    document["usage_events"] = [
        usage_event_out(event).model_dump(mode="json") for event in usage_events
    ]
    document["events"] = [
        {
            "phase": event.phase.key if event.phase_id else None,
            "attempt": event.attempt_id,
            "from": event.from_status,
            "to": event.to_status,
            "actor": actor_for_agents(event.actor),
            "reason": event.reason,
            "at": event.created_at.isoformat(),
        }
        for event in events
    ]
    return document


def run_summary_out(run: Run) -> RunSummaryOut:
    return RunSummaryOut(
        id=run.pk,
        project=run.project.slug,
        family=run.family,
        run_id=run.run_id,
        status=run.status,
        layout_path=run.layout_path,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


def usage_event_out(event: UsageEvent) -> UsageEventOut:
    return UsageEventOut(
        id=event.pk,
        run=event.run_id,
        attempt=event.attempt_id,
        provider=event.provider,
        model=event.model,
        tokens_in=event.tokens_in,
        tokens_out=event.tokens_out,
        cost_usd=str(event.cost_usd),
        created_at=event.created_at,
    )


def patch_out(patch: Patch) -> PatchOut:
    approval = patch.approval
    return PatchOut(
        id=patch.pk,
        run=patch.run_id,
        phase=patch.phase.key if patch.phase_id else None,
        diff_sha256=patch.diff_sha256,
        lines_added=patch.lines_added,
        lines_removed=patch.lines_removed,
        files=patch.files,
        outcome=patch.outcome,
        decision=PolicyDecisionOut.model_validate(decision_out_fields(patch.decision)),
        approval=None
        if approval is None
        else {
            "id": approval.pk,
            "status": approval.status,
            "payload_hash": approval.payload_hash,
            "expires_at": approval.expires_at.isoformat(),
            "url": f"/api/v1/approvals/{approval.pk}",
        },
        created_at=patch.created_at,
    )
