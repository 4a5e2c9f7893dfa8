"""Agents read approval requests (and long-poll them); humans decide in the admin only."""

import time

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from approvals import selectors
from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.schemas import (
    ApprovalDecisionOut,
    ApprovalListOut,
    ApprovalListQuery,
    ApprovalOut,
    ApprovalQuery,
    ApprovalSummaryOut,
)
from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES

POLL_INTERVALS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


def approval_out(request: ApprovalRequest) -> ApprovalOut:
    return ApprovalOut(
        id=request.pk,
        kind=request.kind,
        status=request.status,
        title=request.title,
        target_ref=request.target_ref,
        payload_hash=request.payload_hash,
        risk_score=request.risk_score,
        required_approvals=request.required_approvals,
        approvals_count=request.approvals_count,
        requester=request.requester_label,
        expires_at=request.expires_at,
        valid_until=request.valid_until,
        decided_at=request.decided_at,
        consumed_at=request.consumed_at,
        superseded_by=request.superseded_by_id,
        decisions=[
            ApprovalDecisionOut(
                verdict=d.verdict,
                approver=d.approver.get_username(),
                reason=d.reason,
                reason_code=d.reason_code,
                payload_hash_seen=d.payload_hash_seen,
                at=d.created_at,
            )
            for d in selectors.approval_decisions(request=request)
        ],
        explanation=request.explanation or {},
        created_at=request.created_at,
    )


class ApprovalsView(ProjectScopedAPIView):
    @extend_schema(
        operation_id="approvals_list",
        parameters=[ApprovalListQuery],
        responses={200: ApprovalListOut, **ERROR_RESPONSES},
    )
    def get(self, request):
        query = self.parse_query(ApprovalListQuery)
        rows = selectors.approvals_for_project(project=self.project, status=query.status)
        if query.before:
            rows = rows.filter(Q(pk__lt=query.before))
        page = list(rows[: query.limit + 1])
        has_more = len(page) > query.limit
        page = page[: query.limit]
        body = ApprovalListOut(
            results=[ApprovalSummaryOut.model_validate(row, from_attributes=True) for row in page],
            next_before=page[-1].pk if has_more else None,
        )
        return Response(body.model_dump(mode="json"))


class ApprovalDetailView(ProjectScopedAPIView):
    @extend_schema(
        operation_id="approvals_get",
        parameters=[ApprovalQuery],
        responses={200: ApprovalOut, **ERROR_RESPONSES},
    )
    def get(self, request, approval_pk: int):
        query = self.parse_query(ApprovalQuery)
        approval = self.get_scoped(selectors.approval_get, "approval request", pk=approval_pk)
        deadline = time.monotonic() + query.wait
        polls = 0
        # Each re-read is its own autocommit query: nothing is held open between polls.
        while approval.status == ApprovalStatus.PENDING and time.monotonic() < deadline:
            pause = POLL_INTERVALS[min(polls, len(POLL_INTERVALS) - 1)]
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
            polls += 1
            approval = selectors.approval_get(project=self.project, pk=approval_pk)
        return Response(approval_out(approval).model_dump(mode="json"))
