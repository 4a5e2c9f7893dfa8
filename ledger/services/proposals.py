"""POST /api/v1/actions: validate, claim the idempotency key, decide, render, ask or queue."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.models import ApprovalKind
from approvals.services import approval_request_create
from autopack_site.canonical import sha256_of
from autopack_site.errors import Conflict, Unprocessable, pydantic_error_details
from autopack_site.models import AgentKey, Project
from autopack_site.redaction import credential_paths
from ledger.models import ActionMode, ActionStatus, ExternalAction
from ledger.providers.base import ProviderContext
from ledger.providers.registry import get_adapter
from ledger.services.common import locked_action, move
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


def action_propose(
    *, project: Project, key: AgentKey, idempotency_key: str, proposal: Proposal
) -> ProposalResult:
    request_hash = proposal.request_hash()
    existing = (
        ExternalAction.objects.filter(project=project, idempotency_key=idempotency_key)
        .only("pk", "request_hash", "status", "response_body")
        .first()
    )
    if existing is not None:
        # The fast path for replays: the stored request was validated when it was first made,
        # and any other request under this key is refused by its hash.
        return ProposalResult(_replay(existing, request_hash), replayed=True)
    adapter, model = _validate(proposal)
    run, phase = _resolve_run(project, proposal)
    payload_hash = sha256_of(
        {"provider": proposal.provider, "action": proposal.action, "payload": proposal.payload}
    )
    try:
        with transaction.atomic():
            action = ExternalAction.objects.create(
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
                reference=f"ap-{secrets.token_hex(10)}",
            )
    except IntegrityError:  # a concurrent request with the same key won the insert
        existing = ExternalAction.objects.get(project=project, idempotency_key=idempotency_key)
        return ProposalResult(_replay(existing, request_hash), replayed=True)
    return ProposalResult(
        _process(action, adapter=adapter, model=model, proposal=proposal, key=key),
        replayed=False,
    )


def _replay(existing: ExternalAction, request_hash: str) -> ExternalAction:
    if existing.request_hash != request_hash:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request.",
            code="idempotency_key_reused",
            details={"action": existing.pk},
        )
    if existing.status == ActionStatus.RECEIVED:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            code="request_in_progress",
            details={"retry_after": 1},
        )
    return existing


def _process(
    action: ExternalAction, *, adapter, model, proposal: Proposal, key: AgentKey
) -> ExternalAction:
    """Decide and render outside any transaction, then record it all at once under the lock."""
    project = action.project
    policy = compiled_policy_for(project)
    dry_run_done = any(rule.dry_run_required for rule in policy.spec.action_rules) and (
        ExternalAction.objects.filter(
            project=project,
            payload_hash=action.payload_hash,
            dry_run=True,
            status=ActionStatus.DRY_RUN,
        ).exists()
    )
    rendered = adapter.dry_run(
        action.action,
        model,
        reference=action.reference,
        ctx=ProviderContext(base_url=_base_url(action.provider), secret=MASKED_SECRET),
    )
    rendered_request = rendered.request.model_dump(mode="json")
    side_effects = [effect.model_dump(mode="json") for effect in rendered.side_effects]
    actor = f"agent:{key.name}"
    with transaction.atomic():
        # Lock and re-check without reloading the row we just inserted: only the stale-request
        # sweep could have moved it (after AUTOPACK_ACTION_STALE_RECEIVED_SECONDS).
        still_ours = (
            ExternalAction.objects.select_for_update()
            .filter(pk=action.pk, status=ActionStatus.RECEIVED)
            .values_list("pk", flat=True)
        )
        if not still_ours:
            return locked_action(action.pk)  # the sweep failed it; answer what it recorded
        # Decided here so that the decision log row commits with the state it explains.
        decision = action_decide(
            policy=policy,
            project=project,
            provider=action.provider,
            action=action.action,
            amount=_amount(model),
            dry_run_done=dry_run_done or proposal.dry_run,
            requester=actor,
        ).to_dict()
        outcome = decision["outcome"]
        locked = action
        common = {
            "decision": decision,
            "rendered_request": rendered_request,
            "side_effects": side_effects,
            "on_record": _store_answer,
        }
        if proposal.dry_run:
            move(locked, ActionStatus.DRY_RUN, actor=actor, detail={"outcome": outcome}, **common)
        elif outcome == "deny":
            move(
                locked,
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
                target_ref=f"action:{locked.pk}",
                title=f"{locked.provider} {locked.action}",
                summary=decision.get("hint", ""),
                payload=approved_payload(locked),
                risk_score=decision["risk"]["score"],
                risk_factors=decision["risk"]["factors"],
                explanation={
                    **decision,
                    "rendered_request": rendered_request,
                    "side_effects": side_effects,
                },
                requested_by_key=key,
                callback_url=locked.callback_url,
                required_approvals=windows.required_approvals,
                pending_window=timedelta(hours=windows.pending_window_hours),
                validity_window=timedelta(hours=windows.validity_window_hours),
            )
            move(
                locked,
                ActionStatus.PENDING_APPROVAL,
                actor=actor,
                detail={"approval": approval.pk},
                approval=approval,
                **common,
            )
        else:
            move(
                locked,
                ActionStatus.APPROVED,
                actor=actor,
                detail={"by": "policy"},
                next_attempt_at=timezone.now(),
                **common,
            )
            if locked.mode == ActionMode.PLATFORM:
                from ledger.services.execution import schedule_execution

                schedule_execution(locked.pk)
    return locked


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
    from ledger.conf import ledger_settings
    from ledger.providers.registry import default_base_url

    return ledger_settings().base_url(provider) or default_base_url(provider)


def action_fail_stale_received(*, older_than_seconds: int) -> int:
    """A request that died between claiming its key and recording its decision is failed
    explicitly, so its key answers (as failed) instead of 409 for ever."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = ExternalAction.objects.filter(status=ActionStatus.RECEIVED, created_at__lt=cutoff)
    count = 0
    for pk in list(stale.values_list("pk", flat=True)[:100]):
        with transaction.atomic():
            action = locked_action(pk)
            if action.status != ActionStatus.RECEIVED:
                continue
            move(
                action,
                ActionStatus.FAILED,
                actor="system",
                detail={"reason": "stale_received"},
                error="The request died before its decision was recorded; propose it again "
                "with a new Idempotency-Key.",
                on_record=_store_answer,
            )
            count += 1
    return count
