"""POST /api/v1/actions: validate, claim the idempotency key, decide, render, ask or queue."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from autopack_site.canonical import sha256_of
from autopack_site.errors import Conflict, Unprocessable, pydantic_error_details
from autopack_site.models import AgentKey, Project
from autopack_site.redaction import MASK, credential_paths
from ledger.conf import ledger_settings
from ledger.guards import ProposedAction, verdict_at_proposal
from ledger.models import HELD_BY_GUARD, ActionAnswer, ActionMode, ActionStatus, ExternalAction
from ledger.providers.base import ProviderContext
from ledger.providers.registry import default_base_url, get_adapter
from ledger.selectors import action_by_idempotency_key, dry_run_recorded
from ledger.services.common import action_ask_for_approval
from ledger.services.queueing import schedule_execution
from ledger.transitions import ACTION
from policies.compiled import compiled_policy_for
from policies.services import action_decision
from runs.models import Phase, Run

MASKED_SECRET = MASK  # a dry run renders with a placeholder in place of the secret


@dataclass(frozen=True)
class Proposal:
    provider: str
    action: str
    payload: dict[str, Any]
    dry_run: bool = False
    run: int | None = None
    phase: str | None = None
    callback_url: str = ""
    mode: str = ActionMode.PLATFORM

    def request_hash(self) -> str:
        return sha256_of(
            {
                "provider": self.provider,
                "action": self.action,
                "payload": self.payload,
                "dry_run": self.dry_run,
                "run": self.run,
                "phase": self.phase,
                "callback_url": self.callback_url,
                "mode": self.mode,
            }
        )


@dataclass(frozen=True)
class ProposalResult:
    action: ExternalAction
    replayed: bool


def _validate(proposal: Proposal):
    try:
        adapter = get_adapter(proposal.provider)
    except (KeyError, ValueError):
        raise Unprocessable(
            f"Unknown provider {proposal.provider!r}.",
            code="unknown_provider",
            details={"fields": [{"path": "provider", "message": "unknown provider"}]},
        ) from None
    if proposal.action not in adapter.actions:
        raise Unprocessable(
            f"{proposal.provider} has no action {proposal.action!r}.",
            code="unknown_action",
            details={"allowed": sorted(adapter.actions)},
        )
    try:
        model = adapter.validate(proposal.action, proposal.payload)
    except pydantic.ValidationError as exc:
        details = pydantic_error_details(exc)
        for field in details["fields"]:
            field["path"] = f"payload.{field['path']}"
        raise Unprocessable("The payload is not valid.", details=details) from None
    leaked = credential_paths(proposal.payload)
    if leaked:
        raise Unprocessable(
            "The payload contains credential-like values; credentials belong in a "
            "ProviderCredential, never in a payload.",
            code="credential_in_payload",
            details={
                "fields": [
                    {"path": f"payload.{p}", "message": "looks like a secret"} for p in leaked
                ]
            },
        )
    return adapter, model


def _resolve_run(project: Project, proposal: Proposal) -> tuple[Run | None, Phase | None]:
    if proposal.run is None:
        if proposal.phase:
            raise Unprocessable("A phase needs a run.", code="phase_without_run")
        return None, None
    run = Run.objects.filter(project=project, pk=proposal.run).first()
    if run is None:
        raise Unprocessable("No such run in this project.", code="unknown_run")
    phase = None
    if proposal.phase:
        phase = Phase.objects.filter(run=run, key=proposal.phase).first()
        if phase is None:
            raise Unprocessable(f"Run has no phase {proposal.phase!r}.", code="unknown_phase")
    return run, phase


class _KeyTaken(Exception):
    """Another request committed this Idempotency-Key first."""


def action_propose(
    *,
    project: Project,
    key: AgentKey,
    idempotency_key: str,
    proposal: Proposal,
    answer_for: Callable[[ExternalAction], bytes],
) -> ProposalResult:
    """Everything is validated, rendered and decided first; then one transaction writes the
    action in its decided status (with its first event), the decision-log row, the approval
    request it needs or the execution task it queues, and the answer, or nothing at all. A
    concurrent request with the same key waits for that commit (up to
    AUTOPACK_IDEMPOTENCY_WAIT_MS, then 409) and replays it. ``answer_for`` renders the answer
    (the API's bytes), stored with the rest and replayed verbatim. Nothing here touches the
    network."""
    request_hash = proposal.request_hash()
    existing = action_by_idempotency_key(project=project, key=idempotency_key)
    if existing is not None:
        # The fast path for replays: the stored request was validated when it was first made,
        # and any other request under this key is refused by its hash.
        return ProposalResult(_replay(existing, request_hash), replayed=True)
    adapter, model = _validate(proposal)
    run, phase = _resolve_run(project, proposal)
    payload_hash = sha256_of(
        {"provider": proposal.provider, "action": proposal.action, "payload": proposal.payload}
    )
    policy = compiled_policy_for(project)
    dry_run_done = any(rule.dry_run_required for rule in policy.spec.action_rules) and (
        dry_run_recorded(project=project, payload_hash=payload_hash)
    )
    reference = f"ap-{secrets.token_hex(10)}"
    rendered = adapter.dry_run(
        proposal.action,
        model,
        reference=reference,
        ctx=ProviderContext(base_url=_base_url(proposal.provider), secret=MASKED_SECRET),
    )
    actor = key.actor_label
    guarded = verdict_at_proposal(
        ProposedAction(
            project_id=project.pk,
            provider=proposal.provider,
            action=proposal.action,
            payload=proposal.payload,
            requested_by_key_id=key.pk,
        )
    )
    decision, log_row = action_decision(
        policy=policy,
        project=project,
        provider=proposal.provider,
        action=proposal.action,
        amount=guarded.facts.get("amount", _amount(model)),
        dry_run_done=dry_run_done or proposal.dry_run,
        publish_packet_approved=guarded.facts.get("publish_packet_approved", False),
        provider_policy_fresh=guarded.facts.get("provider_policy_fresh"),
        denials=(guarded.refuse,) if guarded.refuse else (),
        approvals_needed=tuple(guarded.needs_approval),
        requester=actor,
    )
    decided = decision.to_dict()
    status = _decided_status(decided["outcome"], dry_run=proposal.dry_run)
    if status == ActionStatus.APPROVED and guarded.hold:
        status = ActionStatus.HELD  # allowed, but a guard holds it until it lets go
    action = ExternalAction(
        project=project,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        provider=proposal.provider,
        action=proposal.action,
        payload=proposal.payload,
        payload_hash=payload_hash,
        dry_run=proposal.dry_run,
        mode=proposal.mode,
        run=run,
        phase=phase,
        callback_url=proposal.callback_url,
        requested_by_key=key,
        reference=reference,
        decision=decided,
        rendered_request=rendered.request.model_dump(mode="json"),
        side_effects=[effect.model_dump(mode="json") for effect in rendered.side_effects],
        next_attempt_at=timezone.now() if status == ActionStatus.APPROVED else None,
        **_held_by_guard(guarded.hold if status == ActionStatus.HELD else None),
    )
    try:
        with transaction.atomic():
            _wait_for_key_at_most(ledger_settings().idempotency_wait_ms)
            ACTION.create(
                action,
                status=status,
                actor=actor,
                reason=_creation_reason(status),
                detail=_event_detail(status, decided),
            )
            log_row.save(force_insert=True)
            if status == ActionStatus.PENDING_APPROVAL:
                action_ask_for_approval(action)
            elif status == ActionStatus.APPROVED and action.mode == ActionMode.PLATFORM:
                schedule_execution(action.pk)
            action.answer = ActionAnswer.objects.create(
                action=action, status_code=201, body=answer_for(action)
            )
    except IntegrityError:
        existing = action_by_idempotency_key(project=project, key=idempotency_key)
        if existing is None:  # not the key after all (a reference collision): worth a retry
            raise _in_progress("The request collided with another; retry it.") from None
        return ProposalResult(_replay(existing, request_hash), replayed=True)
    except OperationalError as exc:
        if not _is_lock_wait(exc):
            raise
        raise _in_progress(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        ) from None
    return ProposalResult(action, replayed=False)


def _wait_for_key_at_most(wait_ms: int) -> None:
    """A second request with the same key waits on the unique index for the first one's
    commit; this bounds the wait (PostgreSQL; SQLite waits on its busy timeout)."""
    if connection.vendor == "postgresql":
        # No ORM spelling for SET LOCAL; the value is an int from settings.
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(wait_ms)}")


def _held_by_guard(hold: tuple[str, str] | None) -> dict[str, str]:
    if hold is None:
        return {}
    code, message = hold
    return {"held_by": HELD_BY_GUARD, "error": f"{code}: {message}"[:1000]}


def _decided_status(outcome: str, *, dry_run: bool) -> str:
    if dry_run:
        return ActionStatus.DRY_RUN
    return {
        "deny": ActionStatus.DENIED,
        "require_approval": ActionStatus.PENDING_APPROVAL,
    }.get(outcome, ActionStatus.APPROVED)


def _creation_reason(status: str) -> str:
    reasons: dict[str, str] = {
        ActionStatus.DRY_RUN: "dry run",
        ActionStatus.DENIED: "denied by policy",
        ActionStatus.PENDING_APPROVAL: "the policy asks a human",
        ActionStatus.APPROVED: "allowed by policy",
        ActionStatus.HELD: "allowed by policy, held by a guard",
    }
    return reasons[status]


def _event_detail(status: str, decision: dict) -> dict:
    if status == ActionStatus.DRY_RUN:
        return {"outcome": decision["outcome"]}
    if status == ActionStatus.DENIED:
        return {"reasons": decision["reasons"]}
    return {}


def _in_progress(message: str) -> Conflict:
    """409 with Retry-After: the API answers it, the client retries it."""
    return Conflict(message, code="request_in_progress", details={"retry_after": 1})


def _is_lock_wait(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
        return True
    return "database is locked" in str(exc)  # SQLite's busy timeout


def _replay(existing: ExternalAction, request_hash: str) -> ExternalAction:
    if existing.request_hash != request_hash:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request.",
            code="idempotency_key_reused",
            details={"action": existing.pk},
        )
    return existing


def _amount(model) -> Any:
    # An order knows its own value (qty x reference or limit price, whichever is higher).
    order_value = getattr(model, "order_value", None)
    if callable(order_value):
        return order_value()
    for name in ("amount", "price", "notional"):
        value = getattr(model, name, None)
        if value is not None:
            return value
    return None


def _base_url(provider: str) -> str:
    return ledger_settings().base_url(provider) or default_base_url(provider)
