"""Races proved with real threads on PostgreSQL: concurrent retention sweeps delete each
artifact once; concurrent uploads of one name store it once; concurrent answers to one brief
accept one. History rows are append-only in the database itself."""

import hashlib
from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from artifacts.contracts import HandoffOutputIn
from artifacts.models import Artifact, ArtifactEvent, Handoff, HandoffEvent
from artifacts.services.handoffs import handoff_brief_create, handoff_submit
from artifacts.services.ingest import artifact_upload
from artifacts.services.retention import artifacts_sweep_expired
from autopack_site.errors import DomainError
from runs.tests.test_concurrency import run_in_threads
from tests.factories import make_project, make_run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def store(run, name: str, data: bytes, artifact_class: str = "debug_log"):
    return artifact_upload(
        run=run,
        name=name,
        artifact_class=artifact_class,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_concurrent_sweeps_delete_each_expired_artifact_once(artifact_root):
    run = make_run(make_project("sweep-race"))
    for n in range(6):
        store(run, f"log-{n}.txt", f"log {n}".encode())
    Artifact.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    results = run_in_threads(4, lambda i: artifacts_sweep_expired())
    assert sum(r["deleted"] for r in results) == 6
    assert ArtifactEvent.objects.filter(to_status="deleted").count() == 6
    assert not any(p.is_file() for p in artifact_root.rglob("*"))


def test_concurrent_uploads_of_one_name_store_it_once(artifact_root):
    run = make_run(make_project("upload-race"))
    results = run_in_threads(6, lambda i: store(run, "same.txt", b"same bytes"))
    assert sum(created for _, created in results) == 1
    assert Artifact.objects.filter(run=run).count() == 1
    assert len([p for p in artifact_root.rglob("*") if p.is_file()]) == 1


def test_concurrent_answers_to_one_brief_accept_one(artifact_root):
    run = make_run(make_project("answer-race"))
    handoff = handoff_brief_create(run=run, kind="planning")
    output = HandoffOutputIn(
        handoff_id=handoff.pk,
        sections={"summary": "s", "plan": "p", "risks": "r"},
        confidence=0.5,
    )

    def answer(i):
        try:
            handoff_submit(run=run, output=output, actor=f"agent:{i}")
            return "accepted"
        except DomainError as exc:
            return exc.code

    results = run_in_threads(5, answer)
    assert results.count("accepted") == 1
    assert set(results) == {"accepted", "illegal_transition"}
    assert HandoffEvent.objects.filter(handoff=handoff, to_status="accepted").count() == 1


def test_history_rows_are_append_only_in_the_database(artifact_root):
    run = make_run(make_project("append-only"))
    artifact, _ = store(run, "a.txt", b"a")
    handoff = handoff_brief_create(run=run, kind="research")
    for queryset in (
        ArtifactEvent.objects.filter(artifact=artifact),
        HandoffEvent.objects.filter(handoff=handoff),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            queryset.update(reason="rewritten")
        with pytest.raises(DatabaseError), transaction.atomic():
            queryset._raw_delete(queryset.db)
    assert Handoff.objects.filter(pk=handoff.pk).exists()
