"""Reads for tenancy."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from autopack_site.db.rows import RowReader, fetch_one
from autopack_site.models import AgentKey, Project, ProjectMembership

_KEY_ROW = RowReader(AgentKey, "k")
_KEY_PROJECT_ROW = RowReader(Project, "p")


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
    row = fetch_one(
        f"SELECT {_KEY_ROW.columns}, {_KEY_PROJECT_ROW.columns} FROM {_KEY_ROW.table} "
        f"JOIN {_KEY_PROJECT_ROW.table} ON p.id = k.project_id WHERE k.prefix = %s",
        [prefix],
    )
    if row is None:
        return None
    split = len(_KEY_ROW.fields)
    key = _KEY_ROW.load(row[:split])
    AgentKey.project.field.set_cached_value(key, _KEY_PROJECT_ROW.load(row[split:]))
    return key
