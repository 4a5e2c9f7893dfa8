"""Reads for tenancy."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from autopack_site.models import AgentKey, Project, ProjectMembership


def projects_for_user(*, user: AbstractBaseUser, roles: tuple[str, ...] = ()) -> QuerySet[Project]:
    """Projects where the user holds any membership (or one of ``roles``); superusers see all."""
    if user.is_superuser:
        return Project.objects.all()
    memberships = ProjectMembership.objects.filter(user=user)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return Project.objects.filter(pk__in=memberships.values("project_id"))


def user_has_role(*, user: AbstractBaseUser, project_id: int, roles: tuple[str, ...]) -> bool:
    return ProjectMembership.objects.filter(
        user=user, project_id=project_id, role__in=roles
    ).exists()


def agent_key_by_prefix(*, prefix: str) -> AgentKey | None:
    """The key with its project, in one query (every agent request makes it)."""
    return AgentKey.objects.select_related("project").filter(prefix=prefix).first()
