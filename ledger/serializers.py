"""An action as the API shows it, and the answer bytes a proposal sends (and replays)."""

from rest_framework.renderers import JSONRenderer

from ledger.models import ExternalAction
from ledger.schemas import ActionOut


def action_out(action: ExternalAction) -> ActionOut:
    approval = None
    if action.approval_id:
        approval = {
            "id": action.approval_id,
            "url": f"/api/v1/approvals/{action.approval_id}",
        }
    return ActionOut(
        id=action.pk,
        idempotency_key=action.idempotency_key,
        provider=action.provider,
        action=action.action,
        payload=action.payload,
        payload_hash=action.payload_hash,
        dry_run=action.dry_run,
        mode=action.mode,
        run=action.run_id,
        phase=action.phase.key if action.phase_id else None,
        status=action.status,
        decision=action.decision,
        rendered_request=action.rendered_request,
        side_effects=action.side_effects,
        approval=approval,
        reference=action.reference,
        attempts=action.attempts,
        lease_expires_at=action.lease_expires_at,
        provider_reference=action.provider_reference,
        response_summary=action.response_summary,
        error=action.error,
        created_at=action.created_at,
        finished_at=action.finished_at,
    )


def render_answer(action: ExternalAction) -> bytes:
    """The proposal's answer, rendered once by the API's own renderer; stored and replayed as
    these exact bytes."""
    return JSONRenderer().render(action_out(action).model_dump(mode="json"))
