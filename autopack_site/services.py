"""Writes for tenancy: projects, memberships, agent keys and signing secrets."""

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from autopack_site.encryption import seal
from autopack_site.errors import Conflict, Forbidden, NotFound, Unprocessable
from autopack_site.keys import key_matches, mint_key, split_prefix
from autopack_site.models import (
    AgentKey,
    Project,
    ProjectMembership,
    ProjectSigningSecret,
    Role,
    Scope,
)
from autopack_site.roles import Capability, forget_roles, role_allows, role_may_grant
from autopack_site.selectors import agent_key_by_prefix

LAST_USED_GRANULARITY = timedelta(seconds=60)
STAFF_GROUP = "Autopack staff"
AUTOPACK_APPS = ("autopack_site", "runs", "policies", "approvals", "ledger", "trading")


def project_create(*, slug: str, name: str = "") -> Project:
    try:
        validate_slug(slug)
    except ValidationError:
        raise Unprocessable(
            f"{slug!r} is not a valid slug (letters, digits, hyphens, underscores)."
        ) from None
    try:
        with transaction.atomic():
            return Project.objects.create(slug=slug, name=name or slug)
    except IntegrityError:
        raise Conflict(f"Project {slug!r} already exists.", code="project_exists") from None


def membership_check(*, acting_user: User | None, project: Project, user: User, role: str) -> None:
    """Raises Forbidden unless ``acting_user`` may grant or remove ``role`` of ``user`` in
    ``project``. None acts for the system (management commands, the demo, tests)."""
    if acting_user is None:
        return
    if acting_user.pk == user.pk:
        raise Forbidden("Nobody changes their own roles; ask another owner.", code="own_membership")
    if not role_allows(acting_user, project, Capability.MANAGE_MEMBERS):
        raise Forbidden(
            f"Only an owner of {project.slug} manages its members.", code="not_an_owner"
        )
    if not role_may_grant(acting_user, project, role):
        raise Forbidden(
            f"You cannot grant or remove {role} in {project.slug}: it ranks above your own role.",
            code="role_above_own",
        )


def membership_grant(
    *, project: Project, user: User, role: str, acting_user: User | None
) -> ProjectMembership:
    if role not in Role.values:
        raise Unprocessable(f"Unknown role {role!r}; one of {', '.join(Role.values)}.")
    membership_check(acting_user=acting_user, project=project, user=user, role=role)
    membership, _ = ProjectMembership.objects.get_or_create(project=project, user=user, role=role)
    forget_roles(user)
    return membership


def membership_revoke(*, project: Project, user: User, role: str, acting_user: User | None) -> int:
    membership_check(acting_user=acting_user, project=project, user=user, role=role)
    deleted, _ = ProjectMembership.objects.filter(project=project, user=user, role=role).delete()
    forget_roles(user)
    return deleted


def staff_group_sync() -> Group:
    """The "Autopack staff" group: every permission on Autopack's models. It only opens the
    admin's door; the member's role in each project decides what is behind it."""
    group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=AUTOPACK_APPS))
    return group


def _validate_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise Unprocessable(
            f"Unknown scope(s): {', '.join(unknown)}; known: {', '.join(Scope.values)}.",
            details={"unknown_scopes": unknown},
        )
    if not scopes:
        raise Unprocessable("An agent key needs at least one scope.")
    return sorted(set(scopes))


def agent_key_create(
    *,
    project: Project,
    name: str,
    scopes: list[str],
    created_by: User | None = None,
) -> tuple[AgentKey, str]:
    """Returns the key row and the plaintext key, which exists only in this return value."""
    if not name.strip():
        raise Unprocessable("An agent key needs a name.")
    clean_scopes = _validate_scopes(scopes)
    minted = mint_key()
    try:
        with transaction.atomic():
            key = AgentKey.objects.create(
                project=project,
                name=name.strip(),
                prefix=minted.prefix,
                key_hash=minted.key_hash,
                scopes=clean_scopes,
                created_by=created_by,
            )
    except IntegrityError:
        raise Conflict(
            f"Project {project.slug} already has an active key named {name!r}.",
            code="agent_key_name_taken",
        ) from None
    return key, minted.plaintext


# Apps above this one register what revoking a key must also end (the ledger: the key's
# pending, held and queued actions; approvals: its pending requests). Called inside the
# revoking transaction, so the key and everything it asked for end together.
_on_key_revoked: list[Callable[[AgentKey, str], None]] = []


def on_key_revoked(hook: Callable[[AgentKey, str], None]) -> None:
    if hook not in _on_key_revoked:
        _on_key_revoked.append(hook)


def agent_key_revoke(*, key: AgentKey, reason: str = "") -> AgentKey:
    with transaction.atomic():
        locked = AgentKey.objects.select_for_update().get(pk=key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_reason = reason[:200]
            locked.save(update_fields=["revoked_at", "revoked_reason"])
            for hook in _on_key_revoked:
                hook(locked, f"agent key {locked.prefix} revoked: {reason}"[:500])
    return locked


def agent_key_authenticate(*, plaintext: str) -> AgentKey:
    """The key row for a presented key, or NotFound; constant-time comparison of the HMAC."""
    prefix = split_prefix(plaintext)
    if prefix is None:
        raise NotFound("Malformed agent key.")
    key = agent_key_by_prefix(prefix=prefix)
    if key is None or not key_matches(plaintext, key.key_hash):
        raise NotFound("Unknown agent key.")
    if key.revoked_at is not None:
        raise NotFound("This agent key was revoked.")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        # Coarse on purpose: one write a minute per key, not one per request.
        AgentKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# a prefix that marks secrets, not one:
SIGNING_SECRET_MARKER = "apsig"  # nosec B105


def signing_secret_rotate(
    *, project: Project, created_by: User | None = None, immediately: bool = False
) -> tuple[ProjectSigningSecret, str]:
    """A new signing secret for ``project``; the plaintext exists only in this return value.
    It starts signing after AUTOPACK_SIGNING_SECRET_GRACE_SECONDS (the previous one signs
    until then, while agents install the new one), or now when ``immediately`` (a leaked
    secret) or when the project has none yet. A secret that never started signing is
    superseded by the new one."""
    now = timezone.now()
    plaintext = f"{SIGNING_SECRET_MARKER}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one rotation at a time
        ProjectSigningSecret.objects.filter(project=project, signs_from__gt=now).delete()
        has_one = ProjectSigningSecret.objects.filter(project=project).exists()
        grace = settings.AUTOPACK_SIGNING_SECRET_GRACE_SECONDS
        signs_from = now if immediately or not has_one else now + timedelta(seconds=grace)
        row = ProjectSigningSecret.objects.create(
            project=project,
            sealed_secret=seal(plaintext),
            fingerprint=hashlib.sha256(plaintext.encode()).hexdigest()[:16],
            signs_from=signs_from,
            created_by=created_by,
        )
    return row, plaintext
