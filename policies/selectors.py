"""Reads for policies, scoped to a project."""

from dataclasses import dataclass

from django.db.models import QuerySet

from autopack_site.models import Project
from policies.models import DecisionLog, GovernancePolicy


@dataclass(frozen=True)
class ApprovalSettings:
    required_approvals: int = 1
    pending_window_hours: int = 24
    validity_window_hours: int = 24


def policy_for_project(*, project: Project) -> GovernancePolicy | None:
    return GovernancePolicy.objects.filter(project=project).first()


def approval_settings_for(project: Project) -> ApprovalSettings:
    """Quorum and windows for new approval requests (24 h defaults without a policy)."""
    row = (
        GovernancePolicy.objects.filter(project=project)
        .values("required_approvals", "pending_window_hours", "validity_window_hours")
        .first()
    )
    return ApprovalSettings(**row) if row else ApprovalSettings()


def recent_decisions(*, project: Project, limit: int = 200) -> QuerySet[DecisionLog]:
    return DecisionLog.objects.filter(project=project).order_by("-created_at", "-id")[:limit]
