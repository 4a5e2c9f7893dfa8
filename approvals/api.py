"""Agents read approval requests (and long-poll them); humans decide in the admin only."""

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
from autopack_site.actors import actor_for_agents, actor_of_user
from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES


def approval_out(request: ApprovalRequest) -> ApprovalOut:
    return ApprovalOut(
        id=request.pk,
        kind=request.kind,
        status=request.status,
        title=request.title,
        subject=request.subject,
        target_id=request.target_id,
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
                approver=actor_for_agents(actor_of_user(d.approver)),
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
        page, next_before = self.keyset_page(
            selectors.approvals_for_project(project=self.project, status=query.status),
            before=query.before,
            limit=query.limit,
        )
        body = ApprovalListOut(
            results=[ApprovalSummaryOut.model_validate(row, from_attributes=True) for row in page],
            next_before=next_before,
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
        approval = self.long_poll(
            lambda: self.get_scoped(selectors.approval_get, "approval request", pk=approval_pk),
            still_waiting=lambda row: row.status == ApprovalStatus.PENDING,
            topic=f"approval:{approval_pk}",
            wait=query.wait,
        )
        return Response(approval_out(approval).model_dump(mode="json"))
