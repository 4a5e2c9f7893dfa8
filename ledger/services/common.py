"""Small pieces every ledger service uses."""

from typing import Any

from autopack_site.errors import NotFound
from ledger.models import ExternalAction
from ledger.transitions import ACTION


def approved_payload(action: ExternalAction) -> dict[str, Any]:
    """What an approval binds to: provider, action and payload (hash = action.payload_hash)."""
    return {"provider": action.provider, "action": action.action, "payload": action.payload}


def locked_action(action_id: int) -> ExternalAction:
    """The action under its row lock, for ACTION.move (which then locks nothing more)."""
    try:
        return ACTION.lock(action_id)
    except ExternalAction.DoesNotExist:
        raise NotFound(f"No action #{action_id}.") from None
