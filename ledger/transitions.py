"""The external action's state machine. Anything not listed is refused.

An action that may have reached the provider never goes back to a retry on its own: a lease
that expires makes it `unknown`, and only a provider lookup ("absent") or an operator makes it
`approved` again. A proposal starts in its decided state (dry_run, denied, pending_approval,
approved, or held when a guard holds what the policy allowed)."""

from autopack_site.state_machine import StateMachine
from ledger.models import ActionEvent, ExternalAction
from ledger.models import ActionStatus as S

ACTION = StateMachine(
    model=ExternalAction,
    label="action",
    transitions={
        S.PENDING_APPROVAL: {S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED},
        S.APPROVED: {S.EXECUTING, S.HELD, S.EXPIRED, S.CANCELLED, S.FAILED},
        S.HELD: {S.APPROVED, S.PENDING_APPROVAL, S.CANCELLED},
        S.EXECUTING: {S.SUCCEEDED, S.FAILED, S.APPROVED, S.UNKNOWN, S.HELD, S.EXPIRED},
        S.UNKNOWN: {S.SUCCEEDED, S.APPROVED, S.NEEDS_RECONCILIATION, S.FAILED},
        S.NEEDS_RECONCILIATION: {S.SUCCEEDED, S.FAILED, S.APPROVED},
        S.DRY_RUN: (),
        S.DENIED: (),
        S.SUCCEEDED: (),
        S.FAILED: (),
        S.REJECTED: (),
        S.EXPIRED: (),
        S.CANCELLED: (),
    },
    initial={S.DRY_RUN, S.DENIED, S.PENDING_APPROVAL, S.APPROVED, S.HELD},
    event_model=ActionEvent,
    event_owner=lambda action: {"action_id": action.pk},
    topic=lambda action: f"action:{action.pk}",
    reset_on_leave={S.EXECUTING: {"lease_expires_at": None}, S.HELD: {"held_by": ""}},
)
