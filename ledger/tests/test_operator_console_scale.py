"""The admin index (dashboard) and the lists an operator opens cost a bounded number of queries
with 100,000 approvals and 100,000 actions: the same count as with a handful of rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from autopack_site.models import Role
from ledger.models import ActionStatus, ExternalAction
from tests.factories import make_run, make_staff

pytestmark = pytest.mark.django_db

ROWS = 100_000
PAGES = [
    "/admin/",
    "/admin/approvals/approvalrequest/",
    "/admin/approvals/approvalrequest/?risk=high&kind=action",
    "/admin/ledger/externalaction/",
    "/admin/runs/run/",
]


def _fill(project, run, start: int, count: int) -> None:
    """``count`` pending actions, each with its pending approval, spread over a day."""
    now = timezone.now()
    statuses = [ActionStatus.PENDING_APPROVAL, ActionStatus.SUCCEEDED, ActionStatus.FAILED]
    for chunk in range(start, start + count, 5000):
        numbers = range(chunk, min(chunk + 5000, start + count))
        actions = ExternalAction.objects.bulk_create(
            [
                ExternalAction(
                    project=project,
                    idempotency_key=f"scale-{n}",
                    request_hash="0" * 64,
                    provider="webhook",
                    action="send",
                    payload={"n": n},
                    payload_hash=f"{n:064d}",
                    status=statuses[n % 3],
                    error="provider_server_error" if n % 3 == 2 else "",
                    side_effects=[{"type": "create", "target": f"e{n}", "reversible": False}],
                    run=run,
                    reference=f"ap-scale-{n}",
                )
                for n in numbers
            ]
        )
        ExternalAction.objects.filter(pk__in=[a.pk for a in actions]).update(
            created_at=now - timedelta(minutes=1)
        )
        ApprovalRequest.objects.bulk_create(
            [
                ApprovalRequest(
                    project=project,
                    kind=ApprovalKind.ACTION,
                    target_id=action.pk,
                    subject=f"action:{action.pk}",
                    title="webhook send",
                    payload={"n": n},
                    payload_hash=f"{n:064d}",
                    risk_score=(n % 10) / 10,
                    status=ApprovalStatus.PENDING,
                    expires_at=now + timedelta(hours=(n % 48) - 12),
                )
                for n, action in zip(numbers, actions, strict=True)
            ]
        )


def _counts(client) -> dict[str, int]:
    counts = {}
    for url in PAGES:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(queries)
    return counts


def test_dashboard_and_lists_cost_the_same_with_100k_approvals_and_actions(client, project):
    operator = make_staff(project, Role.OPERATOR)
    run = make_run(project)
    client.force_login(operator)
    _fill(project, run, 0, 60)
    few = _counts(client)
    _fill(project, run, 60, ROWS - 60)
    assert ApprovalRequest.objects.count() == ROWS and ExternalAction.objects.count() == ROWS
    many = _counts(client)
    assert many == few, (few, many)
    assert max(many.values()) <= 30, many
    html = client.get("/admin/").content.decode()
    assert "pending approvals" in html and connection.vendor in ("sqlite", "postgresql")
