"""Every approval rule, through the services: hash binding, expiries, quorum, roles, supersede."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from approvals.models import ApprovalDecision, ApprovalEvent, ApprovalRequest, ApprovalStatus
from approvals.services import (
    approval_cancel,
    approval_consume,
    approval_decide,
    approval_request_create,
    approvals_expire,
)
from autopack_site.canonical import sha256_of
from autopack_site.errors import Conflict, Forbidden, Unprocessable
from autopack_site.models import Role
from autopack_site.services import agent_key_create
from tests.factories import make_member, make_user

pytestmark = pytest.mark.django_db

PAYLOAD = {"provider": "youtube", "action": "videos.insert", "title": "Launch"}


def ask(project, *, payload=PAYLOAD, target="action:1", **extra):
    return approval_request_create(
        project=project,
        kind="action",
        subject=target,
        target_id=1,
        title="Publish the launch video",
        payload=payload,
        **extra,
    )


def consume(request, *, payload=PAYLOAD, target_id=1):
    return approval_consume(
        request_id=request.pk, target_id=target_id, payload_hash=sha256_of(payload), actor="w"
    )


def approve(request, user, *, seen=None):
    return approval_decide(
        request_id=request.pk,
        user=user,
        approve=True,
        payload_hash_seen=seen or request.payload_hash,
    )


def reject(request, user, reason="looks wrong", code="incorrect"):
    return approval_decide(
        request_id=request.pk,
        user=user,
        approve=False,
        reason=reason,
        reason_code=code,
        payload_hash_seen=request.payload_hash,
    )


def test_request_is_bound_to_the_canonical_payload_hash(project):
    request = ask(project)
    assert request.payload_hash == sha256_of(PAYLOAD)
    assert request.status == ApprovalStatus.PENDING
    assert request.expires_at > timezone.now() + timedelta(hours=23)
    assert list(request.events.values_list("to_status", flat=True)) == ["pending"]


def test_approve_then_consume_the_same_payload_once(project, operator):
    request = ask(project)
    approved = approve(request, operator)
    assert approved.status == ApprovalStatus.APPROVED
    assert approved.valid_until > timezone.now()
    consumed = consume(request)
    assert consumed.status == ApprovalStatus.CONSUMED
    assert consume(request).status == ApprovalStatus.CONSUMED  # its own target's retry
    assert request.events.filter(to_status=ApprovalStatus.CONSUMED).count() == 1
    with pytest.raises(Conflict) as elsewhere:
        consume(request, target_id=2)
    assert elsewhere.value.code == "payload_mismatch"


def test_consuming_another_payload_is_refused_and_consumes_nothing(project, operator):
    request = ask(project)
    approve(request, operator)
    tampered = {**PAYLOAD, "title": "Something else"}
    with pytest.raises(Conflict) as refused:
        consume(request, payload=tampered)
    assert refused.value.code == "payload_mismatch"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.APPROVED


def test_deciding_on_a_stale_hash_is_refused(project, operator):
    request = ask(project)
    with pytest.raises(Conflict) as refused:
        approve(request, operator, seen="0" * 64)
    assert refused.value.code == "payload_changed"
    assert not ApprovalDecision.objects.exists()


def test_pending_request_expires_after_its_window(project, operator):
    request = ask(project, pending_window=timedelta(minutes=5))
    ApprovalRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(Conflict) as late:
        approve(request, operator)
    assert late.value.code == "approval_expired"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXPIRED  # the expiry itself was kept


def test_the_schedule_expires_pending_and_unused_approvals(project, operator):
    pending = ask(project, target="a")
    used_late = ask(project, target="b", validity_window=timedelta(hours=1))
    approve(used_late, operator)
    fresh = ask(project, target="c")
    later = timezone.now() + timedelta(hours=25)
    ApprovalRequest.objects.filter(pk=fresh.pk).update(expires_at=later + timedelta(hours=1))
    assert approvals_expire(now=later) == 2
    statuses = dict(ApprovalRequest.objects.values_list("subject", "status"))
    assert statuses == {"a": "expired", "b": "expired", "c": "pending"}
    del pending


def test_approval_expired_at_use_is_not_consumed(project, operator):
    request = ask(project, validity_window=timedelta(hours=1))
    approve(request, operator)
    ApprovalRequest.objects.filter(pk=request.pk).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(Conflict) as late:
        consume(request)
    assert late.value.code == "approval_expired"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXPIRED


def test_quorum_needs_n_distinct_operators(project, operator):
    second = make_member(project, Role.OPERATOR)
    request = ask(project, required_approvals=2)
    assert approve(request, operator).status == ApprovalStatus.PENDING
    with pytest.raises(Conflict) as twice:
        approve(request, operator)
    assert twice.value.code == "already_decided"
    done = approve(request, second)
    assert done.status == ApprovalStatus.APPROVED
    assert done.approvals_count == 2


def test_any_rejection_ends_the_request(project, operator):
    second = make_member(project, Role.OPERATOR)
    request = ask(project, required_approvals=2)
    approve(request, operator)
    assert reject(request, second).status == ApprovalStatus.REJECTED
    third = make_member(project, Role.OPERATOR)
    with pytest.raises(Conflict):
        approve(request, third)


@pytest.mark.parametrize(("reason", "code"), [("", "unsafe"), ("bad", ""), ("bad", "nonsense")])
def test_a_rejection_needs_a_reason_and_a_known_code(project, operator, reason, code):
    request = ask(project)
    with pytest.raises(Unprocessable):
        reject(request, operator, reason=reason, code=code)
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


def test_only_operators_of_that_project_decide(project, member, outsider):
    request = ask(project)
    for user in (member, outsider, make_user()):
        with pytest.raises(Forbidden):
            approve(request, user)
    owner = make_member(project, Role.OWNER)
    with pytest.raises(Forbidden):
        approve(request, owner)  # owner is not operator: roles are explicit


def test_the_requester_cannot_approve(project, operator):
    by_user = ask(project, target="u", requested_by_user=operator)
    with pytest.raises(Forbidden) as refused:
        approve(by_user, operator)
    assert refused.value.code == "self_approval"
    key, _ = agent_key_create(project=project, name="mine", scopes=["read"], created_by=operator)
    by_my_agent = ask(project, target="k", requested_by_key=key)
    with pytest.raises(Forbidden):
        approve(by_my_agent, operator)


def test_a_newer_request_for_the_same_target_supersedes(project, operator):
    older = ask(project, payload={"v": 1})
    newer = ask(project, payload={"v": 2})
    older.refresh_from_db()
    assert older.status == ApprovalStatus.SUPERSEDED
    assert older.superseded_by_id == newer.pk
    with pytest.raises(Conflict):
        approve(older, operator)
    assert approve(newer, operator).status == ApprovalStatus.APPROVED


def test_cancel_and_illegal_transitions(project, operator):
    request = ask(project)
    approval_cancel(request_id=request.pk, actor="user:x", reason="not needed")
    with pytest.raises(Conflict) as illegal:
        approval_cancel(request_id=request.pk, actor="user:x", reason="again")
    assert illegal.value.code == "illegal_transition"
    moves = list(ApprovalEvent.objects.filter(request=request).values_list("to_status", flat=True))
    assert moves == ["pending", "cancelled"]


def test_decisions_and_events_are_append_only_in_the_model_layer(project, operator):
    request = ask(project)
    approve(request, operator)
    decision = ApprovalDecision.objects.get()
    with pytest.raises(ValueError, match="append-only"):
        decision.save()
    with pytest.raises(ValueError, match="append-only"):
        ApprovalEvent.objects.first().delete()


@pytest.mark.postgres
def test_the_database_refuses_update_and_delete_on_postgres(project, operator):
    request = ask(project)
    approve(request, operator)
    for sql in (
        "UPDATE approvals_approvaldecision SET reason = 'edited'",
        "DELETE FROM approvals_approvalevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
