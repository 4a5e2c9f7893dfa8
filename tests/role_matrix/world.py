"""The role matrix's world: two projects with one row of everything, the personas (each role, a
staff user without membership, a superuser), and the admin forms they post."""

import itertools
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.forms import MultiWidget
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals.models import ReviewerSettings
from approvals.services import approval_request_create
from artifacts.models import Artifact, Handoff, RetentionOverride
from artifacts.transitions import ARTIFACT, HANDOFF
from autopack_site.models import Project, ProjectMembership, Role, WorkerHeartbeat
from autopack_site.services import agent_key_create, membership_grant
from ledger.models import ActionStatus, ExternalAction, ProviderCredential
from policies.services import action_decide, policy_apply_template
from publishing.models import PolicySource, PublishPacket, PublishTermList
from tests.factories import make_project, make_run, make_staff
from tests.role_matrix.tables import PERSONAS
from trading.services import account_create

unique = itertools.count(1)


@dataclass
class World:
    own: Project
    other: Project
    users: dict[str, User]
    colleague: User  # a viewer in both projects: the membership rows the matrix touches
    clients: dict[str, Client] = field(default_factory=dict)

    def client(self, persona: str) -> Client:
        if persona not in self.clients:
            self.clients[persona] = Client()
            self.clients[persona].force_login(self.users[persona])
        return self.clients[persona]

    def project(self, where: str) -> Project:
        return self.own if where == "own" else self.other


def populate(project: Project, colleague: User) -> None:
    policy_apply_template(project=project, template="autopack", editor=None)
    action_decide(project=project, provider="webhook", action="send", requester="matrix")
    make_run(project)
    approval_request_create(
        project=project, kind="action", subject="matrix", title="matrix", payload={"n": 1}
    )
    make_action(project, ActionStatus.HELD)
    make_credential(project)
    account_create(project=project, name="matrix", mode="paper", actor="matrix")
    agent_key_create(project=project, name="matrix", scopes=["read"])
    make_member_of(project, colleague, Role.VIEWER)
    make_artifact(project)
    make_handoff(project)
    ReviewerSettings.objects.create(project=project, enabled=False)
    RetentionOverride.objects.create(project=project, artifact_class="debug_log", days=3)
    make_policy_change(project)
    PublishTermList.objects.create(project=project, kind="banned", terms="matrix")
    make_packet(project)
    # a site row for the second-factor device admin's own views (config, QR code)
    TOTPDevice.objects.get_or_create(user=colleague, name="matrix", defaults={"confirmed": True})


def make_artifact(project: Project) -> Artifact:
    run = make_run(project)
    return ARTIFACT.create(
        Artifact(
            project=project,
            run=run,
            name=f"matrix-{next(unique)}.txt",
            artifact_class="run_log",
            storage_path=f"{run.layout_path}artifacts/matrix.txt",
            size=1,
            stored_size=1,
            sha256="0" * 64,
            content_sha256="0" * 64,
        ),
        status="stored",
        actor="matrix",
    )


def make_handoff(project: Project, run=None) -> Handoff:
    return HANDOFF.create(
        Handoff(
            project=project,
            run=run or make_run(project),
            kind="research",
            brief="secret-run-id brief",
            context_sha256="0" * 64,
        ),
        status="briefed",
        actor="matrix",
    )


def make_policy_source(project: Project, provider: str = "youtube") -> PolicySource:
    return PolicySource.objects.create(
        project=project,
        provider=provider,
        name=f"matrix-{next(unique)}",
        url="https://example.com/rules",
        category="other",
    )


def make_policy_change(project: Project):
    """A source whose first snapshot is a pending change (no HTTP: the text is given)."""
    from django.db import transaction

    from publishing.models import PolicyChange
    from publishing.monitor import _store

    source = make_policy_source(project)
    with transaction.atomic():
        _store(source, f"Rules {next(unique)}")
    return PolicyChange.objects.filter(source=source).latest("pk")


def make_packet(project: Project) -> PublishPacket:
    n = next(unique)
    return PublishPacket.objects.create(
        project=project,
        provider="youtube",
        action="videos.insert",
        title=f"matrix {n}",
        content_hash="0" * 64,
        status="pending_approval",
    )


def make_member_of(project: Project, user: User, role: str) -> ProjectMembership:
    return membership_grant(project=project, user=user, role=role, acting_user=None)


def make_action(project: Project, status: str) -> ExternalAction:
    n = next(unique)
    return ExternalAction.objects.create(
        project=project,
        idempotency_key=f"matrix-{n}",
        request_hash="0" * 64,
        provider="webhook",
        action="send",
        payload={"n": n},
        payload_hash="0" * 64,
        status=status,
        mode="agent",
        reference=f"ap-matrix-{n}",
    )


def make_credential(project: Project) -> ProviderCredential:
    return ProviderCredential.objects.create(
        project=project,
        provider="webhook",
        name=f"matrix-{next(unique)}",
        environment="sandbox",
        active=False,  # one active credential per provider and environment
        scopes=[],
        allowed_actions=["*"],
        rotated_at=timezone.now(),  # a webhook credential names no secret: it signs with the
        # project's signing secret
    )


def persona_user(persona: str, project: Project) -> User:
    if persona == "superuser":
        return User.objects.create_superuser(username="root", email="")
    if persona == "no_membership":
        return make_staff(project, username="nobody")
    return make_staff(project, persona, username=persona)


def build_world() -> World:
    own, other = make_project("own-co"), make_project("zz-other-co")
    colleague = make_staff(own, Role.VIEWER, username="colleague")
    users = {persona: persona_user(persona, own) for persona in PERSONAS}
    populate(own, colleague)
    populate(other, colleague)
    WorkerHeartbeat.objects.create(name="matrix", beat_at=timezone.now())
    User.objects.create_user(username="newcomer")  # whom the membership forms grant a role
    return World(own=own, other=other, users=users, colleague=colleague)


def row_in(model, project: Project, world: World):
    project_field = getattr(admin.site._registry[model], "project_field", "site")
    if project_field == "pk":
        return project
    if project_field is None:  # site-wide rows: one, readable from any project
        return model.objects.first() if project == world.own else None
    if project_field == "site":
        return model.objects.order_by("pk").first() if project == world.own else None
    rows = model.objects.filter(**{project_field: project})
    if model is ProjectMembership:
        rows = rows.filter(user=world.colleague)  # never the persona's own membership
    return rows.order_by("pk").first()


def make_add_target(persona: str, world: World, where: str) -> Project:
    """A fresh project (nothing in it yet, e.g. no policy) where ``persona`` holds the same
    roles as in its own project, or none (another project)."""
    project = make_project(f"add-{where}-{next(unique)}")
    if where == "own" and persona in Role.values:
        make_member_of(project, world.users[persona], persona)
    return project


# --- forms --------------------------------------------------------------------------------------
def _put(data: dict[str, Any], key: str, value: Any, widget) -> None:
    if value is None:
        return
    if isinstance(widget, MultiWidget):
        parts = value if isinstance(value, list | tuple) else widget.decompress(value)
        for index, part in enumerate(parts):
            _put(data, f"{key}_{index}", part, None)
    elif isinstance(value, bool):
        if value:
            data[key] = "on"
    elif isinstance(value, list | tuple):
        data[key] = [str(item) for item in value]
    else:
        data[key] = str(value)


def form_data(response) -> dict[str, Any]:
    """What the admin page's forms would post unchanged (its form and every inline formset)."""
    data: dict[str, Any] = {}
    if response.status_code != 200:
        return data
    form = response.context["adminform"].form
    for name, form_field in form.fields.items():
        _put(data, form.add_prefix(name), form[name].value(), form_field.widget)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for sub in formset.forms:
            for name, form_field in sub.fields.items():
                _put(data, sub.add_prefix(name), sub[name].value(), form_field.widget)
    return data


def add_values(label: str, target: Project | None) -> dict[str, Any]:
    n = next(unique)
    values = {
        "autopack_site.project": {"slug": f"new-{n}", "name": "New"},
        "autopack_site.projectmembership": {"user": "newcomer", "role": Role.VIEWER},
        "autopack_site.agentkey": {"name": f"new-{n}", "scopes": ["read"]},
        "policies.governancepolicy": {"change_reason": "a first policy"},
        "artifacts.retentionoverride": {"artifact_class": "video", "days": "5"},
        "approvals.reviewersettings": {"enabled": True, "model": "claude-haiku-4-5"},
        "ledger.providercredential": {
            "provider": "shopify",
            "name": f"new-{n}",
            "secret_name": "MATRIX_NEW",
            "rotated_at_0": "2026-01-01",
            "rotated_at_1": "12:00:00",
        },
        "publishing.policysource": {
            "provider": "etsy",
            "name": f"new-{n}",
            "url": "https://example.com/new",
            "category": "other",
            "required": True,
            "enabled": True,
        },
        "publishing.publishtermlist": {"kind": "trademark", "terms": f"brand-{n}", "enabled": True},
    }.get(label, {})
    return {**values, "project": target.pk} if target is not None else values


def change_edits(label: str) -> dict[str, Any]:
    """A change that differs from every earlier one (each persona's must be visible)."""
    n = next(unique)
    return {
        "autopack_site.project": {"name": f"Renamed {n}"},
        "policies.governancepolicy": {"max_auto_approve_lines": str(n), "change_reason": "m"},
        "ledger.providercredential": {"name": f"renamed-{n}"},
        "artifacts.retentionoverride": {"days": str(n + 10)},
        "approvals.reviewersettings": {"model": f"claude-model-{n}"},
        "publishing.policysource": {"name": f"renamed-{n}"},
        "publishing.publishtermlist": {"terms": f"renamed-{n}"},
    }.get(label, {})


def row_state(obj) -> dict[str, Any]:
    obj = type(obj)._default_manager.get(pk=obj.pk)
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def rows_in(model, project: Project | None) -> int:
    if project is None:
        return model._default_manager.count()
    return model._default_manager.filter(project=project).count()


def shown(response) -> bool:
    assert response.status_code in (200, 302, 403), response.status_code
    return response.status_code == 200


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)
