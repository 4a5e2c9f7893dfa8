"""Writes for the ledger."""

from ledger.services.agent_mode import action_agent_claim, action_agent_result
from ledger.services.common import approved_payload
from ledger.services.credentials import (
    credential_health,
    credential_hold,
    credential_refresh,
    credential_secret_available,
    credential_secret_source,
)
from ledger.services.execution import action_execute, actions_dispatch_due, actions_sweep_leases
from ledger.services.follow import action_follow_approval
from ledger.services.proposals import Proposal, ProposalResult, action_propose
from ledger.services.reconcile import (
    action_authorise_retry,
    action_cancel,
    action_reconcile,
    action_record_outcome,
    action_release,
    actions_hold_for_guard,
    actions_release_guarded,
)

__all__ = [
    "Proposal",
    "ProposalResult",
    "action_agent_claim",
    "action_agent_result",
    "action_authorise_retry",
    "action_cancel",
    "action_execute",
    "action_follow_approval",
    "action_propose",
    "action_reconcile",
    "action_record_outcome",
    "action_release",
    "actions_dispatch_due",
    "actions_hold_for_guard",
    "actions_release_guarded",
    "actions_sweep_leases",
    "approved_payload",
    "credential_health",
    "credential_hold",
    "credential_refresh",
    "credential_secret_available",
    "credential_secret_source",
]
