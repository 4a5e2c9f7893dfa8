"""Concurrent decisions on one request, with real threads on PostgreSQL: exactly one outcome."""

import threading

import pytest
from django.db import connection

from approvals.models import ApprovalDecision, ApprovalEvent, ApprovalStatus
from approvals.services import approval_consume, approval_decide, approval_request_create
from autopack_site.errors import DomainError
from autopack_site.models import Role
from tests.factories import make_member, make_project

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(workers) -> list:
    barrier = threading.Barrier(len(workers))
    outcomes: list = [None] * len(workers)

    def target(index, work):
        try:
            barrier.wait()
            outcomes[index] = work()
        except DomainError as refusal:
            outcomes[index] = refusal.code
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_approve_and_reject_give_exactly_one_outcome(round_):
    project = make_project()
    operators = [make_member(project, Role.OPERATOR) for _ in range(8)]
    request = approval_request_create(
        project=project, kind="patch", subject="run:1", title="t", payload={"n": round_}
    )

    def decide(user, approve):
        return lambda: (
            approval_decide(
                request_id=request.pk,
                user=user,
                approve=approve,
                reason="" if approve else "no",
                reason_code="" if approve else "unsafe",
                payload_hash_seen=request.payload_hash,
            ).status
        )

    outcomes = race([decide(user, i % 2 == 0) for i, user in enumerate(operators)])
    winners = [o for o in outcomes if o in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)]
    assert len(winners) == 1, outcomes
    assert outcomes.count("not_pending") == 7
    request.refresh_from_db()
    assert request.status == winners[0]
    assert ApprovalDecision.objects.filter(request=request).count() == 1
    assert ApprovalEvent.objects.filter(request=request).count() == 2


def test_concurrent_consumers_use_an_approval_once():
    project = make_project()
    operator = make_member(project, Role.OPERATOR)
    payload = {"order": "buy 1"}
    request = approval_request_create(
        project=project,
        kind="patch",  # no consumer reacts to this one
        subject="run:9:patch",
        target_id=9,
        title="t",
        payload=payload,
    )
    approval_decide(
        request_id=request.pk, user=operator, approve=True, payload_hash_seen=request.payload_hash
    )
    outcomes = race(
        [
            lambda target=target: (
                approval_consume(
                    request_id=request.pk,
                    target_id=target,
                    payload_hash=request.payload_hash,
                    actor="w",
                ).status
            )
            for target in [9] * 4 + [10] * 4
        ]
    )
    assert outcomes.count(ApprovalStatus.CONSUMED) == 4  # its target, however often
    assert outcomes.count("payload_mismatch") == 4  # any other target, never
    assert ApprovalEvent.objects.filter(request=request, to_status="consumed").count() == 1
