"""POST /api/v1/actions: validate, claim the idempotency key, decide, render, ask or queue."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from approvals.models import ApprovalKind
from approvals.services import approval_request_create
from autopack_site.canonical import sha256_of
from autopack_site.errors import Conflict, Unprocessable, pydantic_error_details
from autopack_site.models import AgentKey, Project
from autopack_site.redaction import credential_paths
from ledger.conf import ledger_settings
from ledger.models import ActionMode, ActionStatus, ExternalAction
from ledger.providers.base import ProviderContext
from ledger.providers.registry import get_adapter
from ledger.selectors import action_by_idempotency_key
from ledger.services.common import move
from policies.compiled import compiled_policy_for
from policies.selectors import approval_settings_for
from policies.services import action_decide
from runs.models import Phase, Run

MASKED_SECRET = "***"


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
    amount: str | None = None

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


def approved_payload(action: ExternalAction) -> dict[str, Any]:
    """What an approval binds to: provider, action and payload (hash = action.payload_hash)."""
    return {"provider": action.provider, "action": action.action, "payload": action.payload}


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
    *, project: Project, key: AgentKey, idempotency_key: str, proposal: Proposal
) -> ProposalResult:
    """One transaction: the key, the decision, its log row, the first event, the stored answer and
    (for platform mode) the execution task commit together or not at all. A concurrent request
    with the same key waits for that commit (up to AUTOPACK_IDEMPOTENCY_WAIT_MS, then 409) and
    replays it. Nothing here touches the network."""
    request_hash = proposal.request_hash()
    existing = action_by_idempotency_key(project_id=project.pk, key=idempotency_key)
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
        ExternalAction.objects.filter(
            project=project,
            payload_hash=payload_hash,
            dry_run=True,
            status=ActionStatus.DRY_RUN,
        ).exists()
    )
    reference = f"ap-{secrets.token_hex(10)}"
    rendered = adapter.dry_run(
        proposal.action,
        model,
        reference=reference,
        ctx=ProviderContext(base_url=_base_url(proposal.provider), secret=MASKED_SECRET),
    )
    try:
        with transaction.atomic():
            action = _take_key(
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
            )
            _decide(
                action,
                policy=policy,
                amount=_amount(model),
                dry_run_done=dry_run_done or proposal.dry_run,
                rendered_request=rendered.request.model_dump(mode="json"),
                side_effects=[effect.model_dump(mode="json") for effect in rendered.side_effects],
                key=key,
            )
    except _KeyTaken:
        existing = action_by_idempotency_key(project_id=project.pk, key=idempotency_key)
        if existing is None:  # not the key after all (a reference collision): worth a retry
            raise _in_progress("The request collided with another; retry it.") from None
        return ProposalResult(_replay(existing, request_hash), replayed=True)
    return ProposalResult(action, replayed=False)


def _take_key(**fields: Any) -> ExternalAction:
    """INSERT the row, status received. A concurrent holder of the key makes the unique index
    wait for its commit; past the wait the request is still in progress (409)."""
    if connection.vendor == "postgresql":
        wait_ms = ledger_settings().idempotency_wait_ms
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(wait_ms)}")
    try:
        return ExternalAction.objects.create(**fields)
    except IntegrityError:
        raise _KeyTaken from None
    except OperationalError as exc:
        if not _is_lock_wait(exc):
            raise
        raise _in_progress(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        ) from None


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


def _decide(
    action: ExternalAction,
    *,
    policy,
    amount,
    dry_run_done: bool,
    rendered_request: dict,
    side_effects: list,
    key: AgentKey,
) -> None:
    """Inside the proposing transaction, on the row it just inserted: decide, log, move."""
    project = action.project
    actor = f"agent:{key.name}"
    decision = action_decide(
        policy=policy,
        project=project,
        provider=action.provider,
        action=action.action,
        amount=amount,
        dry_run_done=dry_run_done,
        requester=actor,
    ).to_dict()
    outcome = decision["outcome"]
    common = {
        "decision": decision,
        "rendered_request": rendered_request,
        "side_effects": side_effects,
        "on_record": _store_answer,
    }
    if action.dry_run:
        move(action, ActionStatus.DRY_RUN, actor=actor, detail={"outcome": outcome}, **common)
    elif outcome == "deny":
        move(
            action,
            ActionStatus.DENIED,
            actor=actor,
            detail={"reasons": decision["reasons"]},
            **common,
        )
    elif outcome == "require_approval":
        windows = approval_settings_for(project)
        approval = approval_request_create(
            project=project,
            kind=ApprovalKind.ACTION,
            target_ref=f"action:{action.pk}",
            title=f"{action.provider} {action.action}",
            summary=decision.get("hint", ""),
            payload=approved_payload(action),
            risk_score=decision["risk"]["score"],
            risk_factors=decision["risk"]["factors"],
            explanation={
                **decision,
                "rendered_request": rendered_request,
                "side_effects": side_effects,
            },
            requested_by_key=key,
            callback_url=action.callback_url,
            required_approvals=windows.required_approvals,
            pending_window=timedelta(hours=windows.pending_window_hours),
            validity_window=timedelta(hours=windows.validity_window_hours),
        )
        move(
            action,
            ActionStatus.PENDING_APPROVAL,
            actor=actor,
            detail={"approval": approval.pk},
            approval=approval,
            **common,
        )
    else:
        move(
            action,
            ActionStatus.APPROVED,
            actor=actor,
            detail={"by": "policy"},
            next_attempt_at=timezone.now(),
            **common,
        )
        if action.mode == ActionMode.PLATFORM:
            from ledger.services.execution import schedule_execution

            schedule_execution(action.pk)


def _store_answer(action: ExternalAction) -> None:
    """The first answer for this key, replayed verbatim for the same key and request."""
    from ledger.serializers import action_out

    action.response_body = action_out(action).model_dump(mode="json")


def _amount(model) -> Any:
    for name in ("amount", "price", "notional"):
        value = getattr(model, name, None)
        if value is not None:
            return value
    qty, price = getattr(model, "qty", None), getattr(model, "limit_price", None)
    if qty is not None and price is not None:
        return qty * price
    return None


def _base_url(provider: str) -> str:
    from ledger.providers.registry import default_base_url

    return ledger_settings().base_url(provider) or default_base_url(provider)
