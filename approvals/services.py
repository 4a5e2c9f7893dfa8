"""Writes for approvals. Every change locks the request row, re-checks state and payload hash,
moves it along APPROVAL_TRANSITIONS, appends an ApprovalEvent and queues notifications that
leave only after commit."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.models import (
    ApprovalDecision,
    ApprovalEvent,
    ApprovalRequest,
    ApprovalStatus,
    RejectReasonCode,
)
from approvals.notifications import notifications_enqueue
from approvals.signals import approval_status_changed
from approvals.transitions import NOTIFY_EVENTS, allowed
from autopack_site.canonical import sha256_of
from autopack_site.errors import Conflict, Forbidden, NotFound, Unprocessable
from autopack_site.models import AgentKey, Project
from autopack_site.roles import Capability, role_allows

EXPIRE_BATCH = 500


def _move(request: ApprovalRequest, to_status: str, *, actor: str, detail: str = "") -> None:
    """Caller holds the row lock. Saves the new status and appends the event."""
    from_status = request.status
    if not allowed(from_status, to_status):
        raise Conflict(
            f"Approval request #{request.pk} is {from_status}; it cannot become {to_status}.",
            code="illegal_transition",
            details={"status": from_status},
        )
    request.status = to_status
    request.save()
    ApprovalEvent.objects.create(
        request=request,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:200],
        detail=detail[:500],
    )
    event = NOTIFY_EVENTS.get(to_status)
    if event:
        notifications_enqueue(request=request, event=event)
    changed = {
        "request_id": request.pk,
        "kind": request.kind,
        "target_ref": request.target_ref,
        "status": to_status,
    }
    # robust: a listener's failure is logged and never turns a committed decision into an error
    transaction.on_commit(
        lambda: approval_status_changed.send(sender=ApprovalRequest, **changed), robust=True
    )


def _locked(request_id: int) -> ApprovalRequest:
    request = ApprovalRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"No approval request #{request_id}.")
    return request


def _expire_if_due(request: ApprovalRequest, now: datetime) -> bool:
    """Caller holds the lock. True if the request just expired (pending or approved-unused)."""
    if request.status == ApprovalStatus.PENDING and request.expires_at <= now:
        _move(request, ApprovalStatus.EXPIRED, actor="system", detail="pending window passed")
        return True
    if (
        request.status == ApprovalStatus.APPROVED
        and request.valid_until is not None
        and request.valid_until <= now
    ):
        _move(request, ApprovalStatus.EXPIRED, actor="system", detail="validity window passed")
        return True
    return False


def approval_request_create(
    *,
    project: Project,
    kind: str,
    target_ref: str,
    title: str,
    payload: dict[str, Any],
    summary: str = "",
    risk_score: float = 0.0,
    risk_factors: list | tuple = (),
    explanation: dict[str, Any] | None = None,
    requested_by_key: AgentKey | None = None,
    requested_by_user: AbstractBaseUser | None = None,
    callback_url: str = "",
    required_approvals: int = 1,
    pending_window: timedelta = timedelta(hours=24),
    validity_window: timedelta = timedelta(hours=24),
) -> ApprovalRequest:
    """Opens a request bound to sha256(canonical payload). A pending request for the same
    target is superseded by this one. Joins the caller's transaction if there is one."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _create_locked(
                    project=project,
                    kind=kind,
                    target_ref=target_ref,
                    title=title,
                    payload=payload,
                    summary=summary,
                    risk_score=risk_score,
                    risk_factors=list(risk_factors),
                    explanation=explanation or {},
                    requested_by_key=requested_by_key,
                    requested_by_user=requested_by_user,
                    callback_url=callback_url,
                    required_approvals=required_approvals,
                    pending_window=pending_window,
                    validity_window=validity_window,
                )
        except IntegrityError:
            # A concurrent request for the same target won the "one pending" constraint;
            # the second try supersedes it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _create_locked(*, project, kind, target_ref, pending_window, validity_window, **fields):
    now = timezone.now()
    requester = (
        f"agent:{fields['requested_by_key'].name}" if fields["requested_by_key"] else "system"
    )
    older = list(
        ApprovalRequest.objects.select_for_update().filter(
            project=project, kind=kind, target_ref=target_ref, status=ApprovalStatus.PENDING
        )
    )
    for request in older:
        _move(request, ApprovalStatus.SUPERSEDED, actor=requester, detail="a newer request")
    created = ApprovalRequest.objects.create(
        project=project,
        kind=kind,
        target_ref=target_ref,
        payload_hash=sha256_of(fields["payload"]),
        expires_at=now + pending_window,
        validity_seconds=int(validity_window.total_seconds()),
        **fields,
    )
    ApprovalEvent.objects.create(
        request=created,
        from_status="",
        to_status=ApprovalStatus.PENDING,
        actor=requester,
        detail="requested",
    )
    if older:
        ApprovalRequest.objects.filter(pk__in=[r.pk for r in older]).update(superseded_by=created)
    notifications_enqueue(request=created, event="created")
    return created


def approval_decide(
    *,
    request_id: int,
    user: AbstractBaseUser,
    approve: bool,
    payload_hash_seen: str,
    reason: str = "",
    reason_code: str = "",
) -> ApprovalRequest:
    """A named operator approves or rejects exactly the payload they saw (its hash)."""
    reason = (reason or "").strip()
    if not approve:
        if not reason:
            raise Unprocessable("A rejection needs a reason.", code="reason_required")
        if reason_code not in RejectReasonCode.values:
            raise Unprocessable(
                "A rejection needs a reason code.",
                code="reason_code_required",
                details={"allowed": list(RejectReasonCode.values)},
            )
    elif reason_code:
        reason_code = ""
    now = timezone.now()
    expired = False
    with transaction.atomic():
        request = _locked(request_id)
        if not role_allows(user, request.project_id, Capability.DECIDE_APPROVALS):
            raise Forbidden("Only an operator of this project can decide.", code="not_an_operator")
        if request.requested_by_user_id == user.pk or (
            request.requested_by_key_id and request.requested_by_key.created_by_id == user.pk
        ):
            raise Forbidden("The requester cannot decide their own request.", code="self_approval")
        expired = _expire_if_due(request, now)
        if not expired:
            _decide_locked(
                request,
                user=user,
                approve=approve,
                payload_hash_seen=payload_hash_seen,
                reason=reason,
                reason_code=reason_code,
                now=now,
            )
    if expired:
        raise Conflict(f"Approval request #{request_id} expired.", code="approval_expired")
    return request


def _decide_locked(request, *, user, approve, payload_hash_seen, reason, reason_code, now):
    if request.status != ApprovalStatus.PENDING:
        raise Conflict(
            f"Approval request #{request.pk} is already {request.status}.",
            code="not_pending",
            details={"status": request.status},
        )
    if payload_hash_seen != request.payload_hash:
        raise Conflict(
            "The payload changed since you looked at it; review it again.",
            code="payload_changed",
            details={"payload_hash": request.payload_hash},
        )
    if request.decisions.filter(approver=user).exists():
        raise Conflict("You already decided on this request.", code="already_decided")
    verdict = ApprovalDecision.Verdict.APPROVE if approve else ApprovalDecision.Verdict.REJECT
    ApprovalDecision.objects.create(
        request=request,
        approver=user,
        verdict=verdict,
        reason=reason,
        reason_code=reason_code,
        payload_hash_seen=payload_hash_seen,
    )
    actor = f"user:{user.get_username()}"
    if not approve:
        request.decided_at = now
        _move(request, ApprovalStatus.REJECTED, actor=actor, detail=f"{reason_code}: {reason}")
        return
    request.approvals_count += 1
    if request.approvals_count >= request.required_approvals:
        request.decided_at = now
        request.valid_until = now + timedelta(seconds=request.validity_seconds)
        _move(request, ApprovalStatus.APPROVED, actor=actor, detail="quorum reached")
    else:
        request.save(update_fields=["approvals_count", "updated_at"])


def approval_consume(*, request_id: int, payload: Any, actor: str) -> ApprovalRequest:
    """Uses an approval once, for exactly the approved payload, within its validity window."""
    now = timezone.now()
    with transaction.atomic():
        request = _locked(request_id)
        expired = _expire_if_due(request, now)
        if not expired:
            if request.status != ApprovalStatus.APPROVED:
                raise Conflict(
                    f"Approval request #{request_id} is {request.status}, not approved.",
                    code="not_approved",
                    details={"status": request.status},
                )
            if sha256_of(payload) != request.payload_hash:
                raise Conflict(
                    "This payload is not the one that was approved.",
                    code="payload_mismatch",
                    details={"approved_hash": request.payload_hash},
                )
            request.consumed_at = now
            _move(request, ApprovalStatus.CONSUMED, actor=actor, detail="used")
    if expired:
        raise Conflict(f"Approval request #{request_id} expired.", code="approval_expired")
    return request


def approval_cancel(*, request_id: int, actor: str, reason: str) -> ApprovalRequest:
    with transaction.atomic():
        request = _locked(request_id)
        _move(request, ApprovalStatus.CANCELLED, actor=actor, detail=reason)
    return request


def approvals_expire(*, now: datetime | None = None) -> int:
    """Expires pending requests past their window and unused approvals past their validity.
    Each row is locked and re-checked; returns how many expired."""
    now = now or timezone.now()
    due = list(
        ApprovalRequest.objects.filter(
            status=ApprovalStatus.PENDING, expires_at__lte=now
        ).values_list("pk", flat=True)[:EXPIRE_BATCH]
    ) + list(
        ApprovalRequest.objects.filter(
            status=ApprovalStatus.APPROVED, valid_until__lte=now
        ).values_list("pk", flat=True)[:EXPIRE_BATCH]
    )
    expired = 0
    for pk in due:
        with transaction.atomic():
            request = ApprovalRequest.objects.select_for_update().filter(pk=pk).first()
            if request is not None and _expire_if_due(request, now):
                expired += 1
    return expired
