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
from autopack_site.db.rows import insert_together
from autopack_site.errors import Conflict, Unprocessable, pydantic_error_details
from autopack_site.models import AgentKey, Project
from autopack_site.queue import orm_broker_in_use, queued_task_row
from autopack_site.redaction import credential_paths
from ledger.conf import ledger_settings
from ledger.models import ActionEvent, ActionMode, ActionStatus, ExternalAction
from ledger.providers.base import ProviderContext
from ledger.providers.registry import get_adapter
from ledger.selectors import action_by_idempotency_key, proposal_context
from ledger.services.common import approved_payload
from ledger.services.execution import EXECUTE_TASK, schedule_execution
from ledger.transitions import FINAL
from policies.compiled import compiled_policy_for
from policies.selectors import approval_settings_for
from policies.services import action_decision
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
    """Everything is validated, rendered and decided first; then the action (in its decided
    status, with its stored answer), the decision-log row, the first event and (for platform
    mode with the ORM broker) the execution task commit together or not at all. A concurrent
    request with the same key waits for that commit (up to AUTOPACK_IDEMPOTENCY_WAIT_MS, then
    409) and replays it. Nothing here touches the network."""
    request_hash = proposal.request_hash()
    context = proposal_context(project_id=project.pk, key=idempotency_key)
    if context.existing is not None:
        # The fast path for replays: the stored request was validated when it was first made,
        # and any other request under this key is refused by its hash.
        return ProposalResult(_replay(context.existing, request_hash), replayed=True)
    adapter, model = _validate(proposal)
    run, phase = _resolve_run(project, proposal)
    payload_hash = sha256_of(
        {"provider": proposal.provider, "action": proposal.action, "payload": proposal.payload}
    )
    policy = compiled_policy_for(project, stamp=context.policy_stamp)
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
    actor = f"agent:{key.name}"
    decision, log_row = action_decision(
        policy=policy,
        project=project,
        provider=proposal.provider,
        action=proposal.action,
        amount=_amount(model),
        dry_run_done=dry_run_done or proposal.dry_run,
        requester=actor,
    )
    decision = decision.to_dict()
    status = _decided_status(decision["outcome"], dry_run=proposal.dry_run)
    now = timezone.now()
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
        status=status,
        decision=decision,
        rendered_request=rendered.request.model_dump(mode="json"),
        side_effects=[effect.model_dump(mode="json") for effect in rendered.side_effects],
        next_attempt_at=now if status == ActionStatus.APPROVED else None,
        finished_at=now if status in FINAL else None,
        created_at=now,
        updated_at=now,
    )
    event = ActionEvent(
        from_status=ActionStatus.RECEIVED,
        to_status=status,
        actor=actor[:200],
        detail=_event_detail(status, decision),
        created_at=now,
    )
    try:
        if status != ActionStatus.PENDING_APPROVAL and context.next_action_id is not None:
            action.pk = context.next_action_id
            _record_in_one_statement(action, event, log_row)
        else:
            _record(action, event, log_row)
    except _KeyTaken:
        existing = action_by_idempotency_key(project_id=project.pk, key=idempotency_key)
        if existing is None:  # not the key after all (a reference collision): worth a retry
            raise _in_progress("The request collided with another; retry it.") from None
        return ProposalResult(_replay(existing, request_hash), replayed=True)
    return ProposalResult(action, replayed=False)


def _decided_status(outcome: str, *, dry_run: bool) -> str:
    if dry_run:
        return ActionStatus.DRY_RUN
    return {
        "deny": ActionStatus.DENIED,
        "require_approval": ActionStatus.PENDING_APPROVAL,
    }.get(outcome, ActionStatus.APPROVED)


def _event_detail(status: str, decision: dict) -> dict:
    if status == ActionStatus.DRY_RUN:
        return {"outcome": decision["outcome"]}
    if status == ActionStatus.DENIED:
        return {"reasons": decision["reasons"]}
    if status == ActionStatus.APPROVED:
        return {"by": "policy"}
    return {}  # pending approval: the approval's id, once it exists


def _executes_on_platform(action: ExternalAction) -> bool:
    return action.status == ActionStatus.APPROVED and action.mode == ActionMode.PLATFORM


def _record_in_one_statement(action: ExternalAction, event: ActionEvent, log_row) -> None:
    """PostgreSQL, no approval to create: the id came first from the sequence, so the answer,
    the event and the task can name it, and one statement writes them all."""
    event.action_id = action.pk
    _store_answer(action)
    rows = [log_row, event]
    platform = _executes_on_platform(action)
    if platform and orm_broker_in_use():
        rows.append(queued_task_row(EXECUTE_TASK, action.pk))
        platform = False
    try:
        inserted = insert_together(
            action, rows, lock_timeout_ms=ledger_settings().idempotency_wait_ms
        )
    except OperationalError as exc:
        if not _is_lock_wait(exc):
            raise
        raise _key_busy() from None
    if not inserted:
        raise _KeyTaken
    if platform:  # another broker hears of it after the commit
        schedule_execution(action.pk)


def _record(action: ExternalAction, event: ActionEvent, log_row) -> None:
    """The ORM's way, one transaction: SQLite, and actions that wait for an approval (the
    approval names the action, the action names the approval)."""
    with transaction.atomic():
        _take_key(action)
        log_row.save()
        if action.status == ActionStatus.PENDING_APPROVAL:
            action.approval = _ask_for_approval(action, requested_by=action.requested_by_key)
            event.detail = {"approval": action.approval_id}
        _store_answer(action)
        action.save(update_fields=["approval", "response_body"])
        event.action = action
        event.save()
        if _executes_on_platform(action):
            schedule_execution(action.pk)


def _take_key(action: ExternalAction) -> None:
    """INSERT the row. A concurrent holder of the key makes the unique index wait for its
    commit; past the wait the request is still in progress (409)."""
    if connection.vendor == "postgresql":
        wait_ms = ledger_settings().idempotency_wait_ms
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(wait_ms)}")
    try:
        action.save(force_insert=True)
    except IntegrityError:
        raise _KeyTaken from None
    except OperationalError as exc:
        if not _is_lock_wait(exc):
            raise
        raise _key_busy() from None


def _key_busy() -> Conflict:
    return _in_progress(
        "A request with this Idempotency-Key is still being processed; retry shortly."
    )


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


def _ask_for_approval(action: ExternalAction, *, requested_by: AgentKey):
    project, decision = action.project, action.decision
    windows = approval_settings_for(project)
    return approval_request_create(
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
            "rendered_request": action.rendered_request,
            "side_effects": action.side_effects,
        },
        requested_by_key=requested_by,
        callback_url=action.callback_url,
        required_approvals=windows.required_approvals,
        pending_window=timedelta(hours=windows.pending_window_hours),
        validity_window=timedelta(hours=windows.validity_window_hours),
    )


def _store_answer(action: ExternalAction) -> None:
    """The first answer for this key, replayed verbatim for the same key and request."""
    from ledger.serializers import action_out

    action.response_body = action_out(action).model_dump(mode="json")


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
    from ledger.providers.registry import default_base_url

    return ledger_settings().base_url(provider) or default_base_url(provider)
