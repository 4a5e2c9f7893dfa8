"""Reads for approvals, always scoped: by the agent key's project, or by the user's roles."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from autopack_site.models import Project, Role
from autopack_site.selectors import projects_for_user

APPROVER_ROLES = (Role.OPERATOR,)


def approval_get(*, project: Project, pk: int) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(project=project, pk=pk)
        .select_related("project", "requested_by_key", "requested_by_user")
        .first()
    )


def approval_usable_by(*, request_id: int, target_id: int, payload_hash: str) -> bool:
    """Whether the approval could still be consumed by this target for this payload now."""
    return ApprovalRequest.objects.filter(
        pk=request_id,
        target_id=target_id,
        payload_hash=payload_hash,
        status=ApprovalStatus.APPROVED,
        valid_until__gt=timezone.now(),
    ).exists()


def approvals_for_project(*, project: Project, status: str | None = None) -> QuerySet:
    queryset = ApprovalRequest.objects.filter(project=project).order_by("-id")
    return queryset.filter(status=status) if status else queryset


def approval_decisions(*, request: ApprovalRequest) -> QuerySet:
    return request.decisions.select_related("approver").order_by("created_at", "id")


def inbox_for_user(*, user: AbstractBaseUser) -> QuerySet[ApprovalRequest]:
    """Pending requests in the projects where the user is an operator, soonest expiry first."""
    return (
        ApprovalRequest.objects.filter(
            status=ApprovalStatus.PENDING,
            project__in=projects_for_user(user=user, roles=APPROVER_ROLES),
        )
        .select_related("project", "requested_by_key", "requested_by_user")
        .order_by("expires_at", "id")
    )


def pending_count_for_user(*, user: AbstractBaseUser) -> int:
    return inbox_for_user(user=user).count()
