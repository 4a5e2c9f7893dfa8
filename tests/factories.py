"""Small factories for tests: real rows through the real services."""

import itertools

from django.contrib.auth.models import User
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from autopack_site.models import Project, Role, Scope
from autopack_site.services import agent_key_create, membership_grant, project_create
from runs.services import PhaseSpec, run_create

_counter = itertools.count(1)


def make_project(slug: str | None = None) -> Project:
    return project_create(slug=slug or f"project-{next(_counter)}")


def make_user(username: str | None = None, *, staff: bool = True) -> User:
    return User.objects.create_user(
        username=username or f"user-{next(_counter)}", password="pw-for-tests-only", is_staff=staff
    )


def make_member(project: Project, role: str = Role.OPERATOR, username: str | None = None) -> User:
    user = make_user(username)
    membership_grant(project=project, user=user, role=role)
    return user


def make_key(project: Project, scopes: list[str] | None = None, name: str | None = None) -> str:
    _, plaintext = agent_key_create(
        project=project,
        name=name or f"key-{next(_counter)}",
        scopes=scopes or [Scope.READ, Scope.RUNS_WRITE],
    )
    return plaintext


def make_run(project: Project, *, phases=None, run_id: str | None = None, family: str = "build"):
    specs = phases or [
        PhaseSpec(key="plan"),
        PhaseSpec(key="build", depends_on=("plan",)),
        PhaseSpec(key="test", depends_on=("build",)),
    ]
    run, _ = run_create(
        project=project,
        family=family,
        run_id=run_id or f"run-{next(_counter)}",
        config={"model": "m"},
        phases=specs,
    )
    return run


def login_with_second_factor(client, user: User):
    """``client.force_login`` plus a confirmed TOTP device verified in that session: what an
    operator has after the code step when AUTOPACK_REQUIRE_2FA is on."""
    device = TOTPDevice.objects.create(user=user, name="test device", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
