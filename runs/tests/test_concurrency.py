"""Races proved with real threads on PostgreSQL (each thread has its own connection)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from runs.models import Attempt, AttemptStatus, PhaseStatus, RunStatus
from runs.services import PhaseSpec, attempt_complete, leases_expire, phase_claim_next
from tests.factories import make_project, make_run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_eight_threads_claiming_one_ready_phase_make_exactly_one_attempt():
    run = make_run(make_project("race"), phases=[PhaseSpec(key="only")])
    results = run_in_threads(8, lambda i: phase_claim_next(run=run, claimed_by_key=None))
    winners = [r for r in results if r.attempt is not None]
    assert len(winners) == 1
    assert Attempt.objects.filter(run=run).count() == 1
    assert run.phases.get().status == PhaseStatus.IN_PROGRESS


def test_threads_claiming_many_ready_phases_each_get_a_different_one():
    run = make_run(make_project("fanout"), phases=[PhaseSpec(key=f"p{i}") for i in range(4)])
    results = run_in_threads(8, lambda i: phase_claim_next(run=run, claimed_by_key=None))
    claimed = [r.attempt.phase_id for r in results if r.attempt is not None]
    assert len(claimed) == 4
    assert len(set(claimed)) == 4


def test_expired_lease_is_abandoned_and_a_new_claim_succeeds():
    run = make_run(make_project("lease"), phases=[PhaseSpec(key="only")])
    first = phase_claim_next(run=run, claimed_by_key=None, lease_seconds=60).attempt
    Attempt.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() - timedelta(1))
    results = run_in_threads(4, lambda i: phase_claim_next(run=run, claimed_by_key=None))
    winners = [r.attempt for r in results if r.attempt is not None]
    assert len(winners) == 1
    assert winners[0].number == 2
    first.refresh_from_db()
    assert first.status == AttemptStatus.ABANDONED
    assert first.error_type == "lease_expired"


def test_max_attempts_exhausted_by_expiry_fails_the_phase_and_the_run():
    run = make_run(make_project("exhaust"), phases=[PhaseSpec(key="only", max_attempts=2)])
    for _ in range(2):
        attempt = phase_claim_next(run=run, claimed_by_key=None, lease_seconds=60).attempt
        Attempt.objects.filter(pk=attempt.pk).update(lease_expires_at=timezone.now())
        assert leases_expire() == 1
    assert phase_claim_next(run=run, claimed_by_key=None).attempt is None
    run.refresh_from_db()
    assert run.phases.get().status == PhaseStatus.FAILED
    assert run.status == RunStatus.FAILED
    assert list(run.attempts.values_list("status", flat=True)) == ["abandoned", "abandoned"]


def test_completion_racing_the_sweeper_has_one_outcome():
    run = make_run(make_project("sweeprace"), phases=[PhaseSpec(key="only")])
    attempt = phase_claim_next(run=run, claimed_by_key=None, lease_seconds=60).attempt
    Attempt.objects.filter(pk=attempt.pk).update(
        lease_expires_at=timezone.now() + timedelta(milliseconds=50)
    )

    def work(index: int):
        if index % 2:
            return leases_expire()
        try:
            return attempt_complete(attempt=attempt, outcome="succeeded").attempt.status
        except Exception as exc:
            return type(exc).__name__

    run_in_threads(6, work)
    attempt.refresh_from_db()
    phase = run.phases.get()
    if attempt.status == AttemptStatus.SUCCEEDED:
        assert phase.status == PhaseStatus.COMPLETED
    else:
        assert attempt.status == AttemptStatus.ABANDONED
        assert phase.status == PhaseStatus.PENDING
