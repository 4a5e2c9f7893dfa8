"""The one way an action changes status: under its row lock, along ACTION_TRANSITIONS, with an
append-only event."""

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from autopack_site.errors import Conflict, NotFound
from ledger.models import ActionEvent, ExternalAction
from ledger.transitions import FINAL, allowed


def approved_payload(action: ExternalAction) -> dict[str, Any]:
    """What an approval binds to: provider, action and payload (hash = action.payload_hash)."""
    return {"provider": action.provider, "action": action.action, "payload": action.payload}


def locked_action(action_id: int) -> ExternalAction:
    action = ExternalAction.objects.select_for_update().filter(pk=action_id).first()
    if action is None:
        raise NotFound(f"No action #{action_id}.")
    return action


def move(
    action: ExternalAction,
    to_status: str,
    *,
    actor: str,
    detail: dict[str, Any] | None = None,
    on_record: Callable[[ExternalAction], None] | None = None,
    **fields: Any,
) -> None:
    """Caller holds the row lock (or just created the row in this transaction)."""
    from_status = action.status
    if not allowed(from_status, to_status):
        raise Conflict(
            f"Action #{action.pk} is {from_status}; it cannot become {to_status}.",
            code="illegal_transition",
            details={"status": from_status},
        )
    for name, value in fields.items():
        setattr(action, name, value)
    action.status = to_status
    changed = {*fields, "status", "updated_at"}
    if to_status in FINAL:
        action.finished_at = timezone.now()
        action.lease_expires_at = None
        changed |= {"finished_at", "lease_expires_at"}
    if on_record is not None:
        on_record(action)  # stores the API answer in the same UPDATE
        changed.add("response_body")
    action.save(update_fields=sorted(changed))
    ActionEvent.objects.create(
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:200],
        detail=detail or {},
    )
