"""Who may do what in a project: the one place where roles become permissions.

Every admin page, admin action, custom admin view and service that acts for a person asks
`role_allows(user, project, capability)`; `projects_where` asks the same question as a queryset.
docs/roles.md shows ROLE_CAPABILITIES as a table, and tests/test_role_matrix.py holds the two
to each other and to the admin's behaviour.
"""

import contextlib
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from autopack_site.models import Project, ProjectMembership, Role


class Capability(StrEnum):
    VIEW = "view"  # read the project's rows
    DECIDE_APPROVALS = "decide_approvals"  # approve or reject; see the inbox
    OPERATE_RUNS = "operate_runs"  # pause, resume, cancel runs
    OPERATE_ACTIONS = "operate_actions"  # record outcomes, authorise retries, release, cancel
    EDIT_POLICY = "edit_policy"  # create, edit, disable and enable the policy and its rules
    SUPERVISE_TRADING = "supervise_trading"  # trading accounts, limits, the kill switch
    # provider policy sources, publish term lists, acknowledging provider policy changes
    SUPERVISE_PUBLISHING = "supervise_publishing"
    RELEASE_EMERGENCY_SWITCH = "release_emergency_switch"  # engaging is open to operators
    MANAGE_MEMBERS = "manage_members"  # grant and revoke roles (never above one's own)
    MANAGE_KEYS = "manage_keys"  # create and revoke agent keys
    MANAGE_CREDENTIALS = "manage_credentials"  # provider credentials (metadata, never secrets)
    MANAGE_PROJECT = "manage_project"  # the project's own settings


# Owner does not imply the other roles: who manages members and keys is not thereby who approves,
# edits the policy or releases the kill switch. An owner who should do those holds those roles too.
ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.VIEWER: frozenset({Capability.VIEW}),
    Role.OPERATOR: frozenset(
        {
            Capability.VIEW,
            Capability.DECIDE_APPROVALS,
            Capability.OPERATE_RUNS,
            Capability.OPERATE_ACTIONS,
            Capability.SUPERVISE_PUBLISHING,
        }
    ),
    Role.POLICY_EDITOR: frozenset({Capability.VIEW, Capability.EDIT_POLICY}),
    Role.TRADING_SUPERVISOR: frozenset({Capability.VIEW, Capability.SUPERVISE_TRADING}),
    Role.OWNER: frozenset(
        {
            Capability.VIEW,
            Capability.MANAGE_MEMBERS,
            Capability.MANAGE_KEYS,
            Capability.MANAGE_CREDENTIALS,
            Capability.MANAGE_PROJECT,
            Capability.RELEASE_EMERGENCY_SWITCH,
        }
    ),
}

# Nobody grants or removes a role ranked above their own highest role in that project.
ROLE_RANK: dict[str, int] = {
    Role.VIEWER: 0,
    Role.OPERATOR: 1,
    Role.POLICY_EDITOR: 1,
    Role.TRADING_SUPERVISOR: 1,
    Role.OWNER: 2,
}

# Superusers hold every capability but these: an approval is always a named operator's.
MEMBERS_ONLY: frozenset[Capability] = frozenset({Capability.DECIDE_APPROVALS})

_CACHE = "_autopack_roles_by_project"


def _is_person(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """An active, logged-in Django user; never an agent principal or an anonymous visitor."""
    return (
        user is not None
        and user.is_authenticated
        and user.is_active
        and not getattr(user, "is_agent", False)
    )


def _roles_by_project(user: AbstractBaseUser) -> dict[int, frozenset[str]]:
    """One query per user object (request.user is a new object per request), like Django's own
    permission cache on the user."""
    cached = getattr(user, _CACHE, None)
    if cached is None:
        roles: dict[int, set[str]] = {}
        for project_id, role in ProjectMembership.objects.filter(user_id=user.pk).values_list(
            "project_id", "role"
        ):
            roles.setdefault(project_id, set()).add(role)
        cached = {project_id: frozenset(held) for project_id, held in roles.items()}
        setattr(user, _CACHE, cached)
    return cached


def forget_roles(user: AbstractBaseUser) -> None:
    """After a membership of ``user`` changed: the next check reads the database again."""
    with contextlib.suppress(AttributeError):
        delattr(user, _CACHE)


def _holds(roles: frozenset[str], capability: Capability) -> bool:
    return any(capability in ROLE_CAPABILITIES[role] for role in roles)


def role_allows(user, project: Project | int, capability: Capability) -> bool:
    """Whether ``user`` may do what ``capability`` names in ``project`` (a Project or its id)."""
    if not _is_person(user):
        return False
    if user.is_superuser:
        return capability not in MEMBERS_ONLY
    project_id = project.pk if isinstance(project, Project) else project
    return _holds(_roles_by_project(user).get(project_id, frozenset()), capability)


def _project_ids_where(user, capability: Capability) -> list[int]:
    return [
        project_id
        for project_id, roles in _roles_by_project(user).items()
        if _holds(roles, capability)
    ]


def allowed_somewhere(user, capability: Capability) -> bool:
    """Whether ``user`` holds ``capability`` in at least one project (what an admin page without
    a row, such as a list or an empty add form, asks)."""
    if not _is_person(user):
        return False
    if user.is_superuser:
        return capability not in MEMBERS_ONLY
    return bool(_project_ids_where(user, capability))


def projects_where(user, capability: Capability) -> QuerySet[Project]:
    """The projects in which ``user`` holds ``capability``."""
    if not _is_person(user) or (user.is_superuser and capability in MEMBERS_ONLY):
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(pk__in=_project_ids_where(user, capability))


def role_may_grant(user, project: Project | int, role: str) -> bool:
    """Whether ``user`` may grant or remove ``role`` in ``project``: they manage its members and
    hold a role ranked at least as high."""
    if not role_allows(user, project, Capability.MANAGE_MEMBERS):
        return False
    if user.is_superuser:
        return True
    project_id = project.pk if isinstance(project, Project) else project
    held = _roles_by_project(user).get(project_id, frozenset())
    return max(ROLE_RANK[r] for r in held) >= ROLE_RANK[role]


def roles_with(capability: Capability) -> list[str]:
    """The roles holding ``capability`` (e.g. whom to tell about a pending approval)."""
    return [role for role, held in ROLE_CAPABILITIES.items() if capability in held]
