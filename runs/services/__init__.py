"""Every write to runs, phases, attempts and usage goes through these services."""

from runs.services.attempts import (
    CompletionResult,
    attempt_checkpoint,
    attempt_complete,
    attempt_heartbeat,
)
from runs.services.claims import ClaimResult, leases_expire, phase_claim_next
from runs.services.lifecycle import (
    PhaseSpec,
    run_cancel,
    run_create,
    run_pause,
    run_resume,
    run_transition,
)
from runs.services.patches import patch_submit
from runs.services.usage import usage_record

__all__ = [
    "ClaimResult",
    "CompletionResult",
    "PhaseSpec",
    "attempt_checkpoint",
    "attempt_complete",
    "attempt_heartbeat",
    "leases_expire",
    "patch_submit",
    "phase_claim_next",
    "run_cancel",
    "run_create",
    "run_pause",
    "run_resume",
    "run_transition",
    "usage_record",
]
