"""Writes for approvals. Every change locks the request row, re-checks state and payload hash,
moves it through the APPROVAL state machine (with its event), queues notifications that leave
only after commit, and after commit hands the outcome to the kind's registered consumer."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.consumers import ApprovalNews, deliver
from approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    RejectReasonCode,
)
from approvals.notifications import notifications_enqueue
from approvals.transitions import APPROVAL, CONSUMER_STATUSES, NOTIFY_EVENTS
from autopack_site.actors import SYSTEM, actor_of_key, actor_of_user
from autopack_site.canonical import sha256_of
from autopack_site.errors import Conflict, Forbidden, NotFound, Unprocessable
from autopack_site.models import AgentKey, Project
from autopack_site.roles import Capability, role_allows
from policies.selectors import approval_settings_for

EXPIRE_BATCH = 500


def _move(request: ApprovalRequest, to_status: str, *, actor: str, reason: str = "", **fields):
    """Moves the request (locked by the caller through APPROVAL.lock), queues its
    notifications and, after commit, tells the kind's consumer."""
    APPROVAL.move(request, to_status, actor=actor, reason=reason, **fields)
    event = NOTIFY_EVENTS.get(to_status)
    if event:
        notifications_enqueue(request=request, event=event)
    if to_status in CONSUMER_STATUSES:
        news = ApprovalNews(
            request_id=request.pk, kind=request.kind, target_id=request.target_id, status=to_status
        )
        transaction.on_commit(lambda: deliver(news))


def _locked(request_id: int) -> ApprovalRequest:
    try:
        return APPROVAL.lock(request_id)
    except ApprovalRequest.DoesNotExist:
        raise NotFound(f"No approval request #{request_id}.") from None


def _expire_if_due(request: ApprovalRequest, now: datetime) -> bool:
    """Caller holds the lock. True if the request just expired (pending or approved-unused)."""
    if request.status == ApprovalStatus.PENDING and request.expires_at <= now:
        _move(request, ApprovalStatus.EXPIRED, actor=SYSTEM, reason="pending window passed")
        return True
    if (
        request.status == ApprovalStatus.APPROVED
        and request.valid_until is not None
        and request.valid_until <= now
    ):
        _move(request, ApprovalStatus.EXPIRED, actor=SYSTEM, reason="validity window passed")
        return True
    return False


def approval_request_create(
    *,
    project: Project,
    kind: str,
    subject: str,
    title: str,
    payload: dict[str, Any],
    target_id: int | None = None,
    summary: str = "",
    risk_score: float = 0.0,
    risk_factors: list | tuple = (),
    explanation: dict[str, Any] | None = None,
    requested_by_key: AgentKey | None = None,
    requested_by_user: AbstractBaseUser | None = None,
    callback_url: str = "",
    required_approvals: int | None = None,
    pending_window: timedelta | None = None,
    validity_window: timedelta | None = None,
) -> ApprovalRequest:
    """Opens a request bound to sha256(canonical payload). Quorum and windows are the project
    policy's (24 h defaults) unless given. A pending request with the same kind and subject is
    superseded by this one. Joins the caller's transaction if there is one."""
    windows = approval_settings_for(project)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _create_locked(
                    project=project,
                    kind=kind,
                    subject=subject,
                    target_id=target_id,
                    title=title,
                    payload=payload,
                    summary=summary,
                    risk_score=risk_score,
                    risk_factors=list(risk_factors),
                    explanation=explanation or {},
                    requested_by_key=requested_by_key,
                    requested_by_user=requested_by_user,
                    callback_url=callback_url,
                    required_approvals=required_approvals or windows.required_approvals,
                    pending_window=pending_window or timedelta(hours=windows.pending_window_hours),
                    validity_window=validity_window
                    or timedelta(hours=windows.validity_window_hours),
                )
        except IntegrityError:
            # A concurrent request for the same subject won the "one pending" constraint;
            # the second try supersedes it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def approval_request_for_decision(
    *,
    project: Project,
    kind: str,
    subject: str,
    target_id: int | None,
    title: str,
    payload: dict[str, Any],
    decision: dict[str, Any],
    requested_by_key: AgentKey | None,
    callback_url: str = "",
    explanation: dict[str, Any] | None = None,
) -> ApprovalRequest:
    """The request a policy's require_approval decision opens: its hint as the summary, its
    risk, and the decision (plus ``explanation``) as what the inbox shows."""
    risk = decision.get("risk") or {}
    return approval_request_create(
        project=project,
        kind=kind,
        subject=subject,
        target_id=target_id,
        title=title,
        summary=decision.get("hint", ""),
        payload=payload,
        risk_score=risk.get("score", 0.0),
        risk_factors=risk.get("factors", []),
        explanation={**decision, **(explanation or {})},
        requested_by_key=requested_by_key,
        callback_url=callback_url,
    )


def _create_locked(*, project, kind, subject, pending_window, validity_window, **fields):
    now = timezone.now()
    requester = actor_of_key(fields["requested_by_key"])
    older = APPROVAL.lock_all(
        ApprovalRequest.objects.filter(
            project=project, kind=kind, subject=subject, status=ApprovalStatus.PENDING
        )
    )
    for request in older:  # first: the constraint allows one pending request per subject
        _move(request, ApprovalStatus.SUPERSEDED, actor=requester, reason="a newer request")
    created = APPROVAL.create(
        ApprovalRequest(
            project=project,
            kind=kind,
            subject=subject,
            payload_hash=sha256_of(fields["payload"]),
            expires_at=now + pending_window,
            validity_seconds=int(validity_window.total_seconds()),
            **fields,
        ),
        status=ApprovalStatus.PENDING,
        actor=requester,
        reason="requested",
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
        requesting_key = request.requested_by_key if request.requested_by_key_id else None
        if request.requested_by_user_id == user.pk or (
            requesting_key is not None and requesting_key.created_by_id == user.pk
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
    actor = actor_of_user(user)
    if not approve:
        _move(
            request,
            ApprovalStatus.REJECTED,
            actor=actor,
            reason=f"{reason_code}: {reason}",
            decided_at=now,
        )
        return
    request.approvals_count += 1
    if request.approvals_count >= request.required_approvals:
        _move(
            request,
            ApprovalStatus.APPROVED,
            actor=actor,
            reason="quorum reached",
            approvals_count=request.approvals_count,
            decided_at=now,
            valid_until=now + timedelta(seconds=request.validity_seconds),
        )
    else:
        request.save(update_fields=["approvals_count", "updated_at"])


def approval_consume(
    *, request_id: int, target_id: int, payload_hash: str, actor: str
) -> ApprovalRequest:
    """Uses an approval for exactly the approved payload (its hash) and the target it was asked
    for, within its validity window: one locked step that checks and marks it consumed. The
    same target using it again (a retry of that action) finds it consumed and may go on."""
    now = timezone.now()
    with transaction.atomic():
        request = _locked(request_id)
        expired = _expire_if_due(request, now)
        if not expired:
            if payload_hash != request.payload_hash or target_id != request.target_id:
                raise Conflict(
                    "This payload is not the one that was approved.",
                    code="payload_mismatch",
                    details={"approved_hash": request.payload_hash},
                )
            if request.status == ApprovalStatus.APPROVED:
                _move(request, ApprovalStatus.CONSUMED, actor=actor, reason="used", consumed_at=now)
            elif request.status != ApprovalStatus.CONSUMED:
                raise Conflict(
                    f"Approval request #{request_id} is {request.status}, not approved.",
                    code="not_approved",
                    details={"status": request.status},
                )
    if expired:
        raise Conflict(f"Approval request #{request_id} expired.", code="approval_expired")
    return request


def approval_cancel(*, request_id: int, actor: str, reason: str) -> ApprovalRequest:
    with transaction.atomic():
        request = _locked(request_id)
        _move(request, ApprovalStatus.CANCELLED, actor=actor, reason=reason)
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
            request = APPROVAL.lock_all(ApprovalRequest.objects.filter(pk=pk))
            if request and _expire_if_due(request[0], now):
                expired += 1
    return expired


def approvals_cancel_for_revoked_key(key: AgentKey, reason: str) -> int:
    """Inside the revoking transaction: the key's pending requests are cancelled."""
    pending = APPROVAL.lock_all(
        ApprovalRequest.objects.filter(requested_by_key=key, status=ApprovalStatus.PENDING)
    )
    for request in pending:
        _move(request, ApprovalStatus.CANCELLED, actor=SYSTEM, reason=reason)
    return len(pending)
