"""The emergency switches: one per project and one for the installation. Engaged, every
decision needs a person and no queued execution runs unless a person approved it after the
switch was engaged (publishing/guards.py). Engaging is open to operators (``operate_actions``)
and agents (``actions:write``), with a reason; releasing only to an owner
(``release_emergency_switch``) in the admin, after a confirmation page; the installation's
switch is a superuser's. Every change is a SwitchEvent."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from autopack_site.actors import actor_of_user
from autopack_site.errors import Forbidden, Unprocessable
from autopack_site.models import Project
from autopack_site.outbox import outbox_send
from autopack_site.roles import Capability, role_allows
from publishing.models import EmergencySwitch, SwitchStatus
from publishing.selectors import switch_scope
from publishing.transitions import SWITCH

RELEASE_TASK = "ledger.tasks.actions_release_guarded"


def _locked_switch(project: Project | None) -> EmergencySwitch:
    """The switch row under its lock, created (released) on first use."""
    scope = switch_scope(project.pk if project else None)
    for _attempt in range(2):
        row = EmergencySwitch.objects.filter(scope=scope).values_list("pk", flat=True).first()
        if row is not None:
            return SWITCH.lock(row)
        try:
            with transaction.atomic():
                return SWITCH.create(
                    EmergencySwitch(scope=scope, project=project),
                    status=SwitchStatus.RELEASED,
                    actor="system",
                    reason="first use",
                )
        except IntegrityError:
            continue  # created concurrently: lock that one
    raise AssertionError("unreachable")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Unprocessable("Engaging the emergency switch needs a reason.", code="reason_required")
    return reason[:500]


def emergency_switch_engage(*, project: Project | None, actor: str, reason: str) -> EmergencySwitch:
    """Engages the switch (idempotent: an engaged switch stays as it is, with its first reason).
    ``actor`` is who engages it (``agent:...`` or ``user:...``); callers check who may."""
    reason = _reason(reason)
    with transaction.atomic():
        switch = _locked_switch(project)
        if switch.status == SwitchStatus.ENGAGED:
            return switch
        SWITCH.move(
            switch,
            SwitchStatus.ENGAGED,
            actor=actor,
            reason=reason,
            engaged_by=actor[:200],
            engaged_at=timezone.now(),
            engage_reason=reason,
        )
    return switch


def may_engage(user, project: Project | None) -> bool:
    if project is None:
        return bool(getattr(user, "is_superuser", False))
    return role_allows(user, project, Capability.OPERATE_ACTIONS)


def may_release(user, switch: EmergencySwitch) -> bool:
    if switch.project_id is None:
        return bool(getattr(user, "is_superuser", False) and user.is_active)
    return role_allows(user, switch.project_id, Capability.RELEASE_EMERGENCY_SWITCH)


def emergency_switch_engage_by_user(
    *, project: Project | None, user: AbstractBaseUser, reason: str
) -> EmergencySwitch:
    if not may_engage(user, project):
        raise Forbidden("Your role does not allow engaging this switch.", code="not_allowed")
    return emergency_switch_engage(project=project, actor=actor_of_user(user), reason=reason)


def emergency_switch_release(
    *, switch_id: int, user: AbstractBaseUser | None, reason: str = ""
) -> EmergencySwitch:
    """Only a person: an owner of the project (a superuser for the installation's switch).
    What the switch held goes back to the queue on the ledger's next look (asked for at once)."""
    with transaction.atomic():
        switch = SWITCH.lock(switch_id)
        if user is None or not may_release(user, switch):
            raise Forbidden(
                "Only an owner of the project releases its emergency switch (a superuser the "
                "installation's).",
                code="not_an_owner",
            )
        if switch.status == SwitchStatus.RELEASED:
            return switch
        actor = actor_of_user(user)
        SWITCH.move(
            switch,
            SwitchStatus.RELEASED,
            actor=actor,
            reason=(reason or "released").strip()[:500],
            released_by=actor[:200],
            released_at=timezone.now(),
        )
        outbox_send(RELEASE_TASK)
    return switch


def switch_for_new_project(sender, instance: Project, created: bool, raw: bool = False, **kwargs):
    """Every project has its switch from the start (released), so the admin lists it."""
    if created and not raw:
        _locked_switch(instance)
