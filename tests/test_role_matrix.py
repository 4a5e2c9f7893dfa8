"""The role matrix (issue 8): every registered admin model, action and custom view by every role,
a user without membership and a superuser by the user's own project and another project, through
the admin's real views. Each cell must be allowed or refused exactly as docs/roles.md says; the
docs' role table must be autopack_site/roles.py's."""

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.forms import MultiWidget
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalStatus
from approvals.services import approval_request_create
from autopack_site.errors import Forbidden
from autopack_site.models import AgentKey, Project, ProjectMembership, Role, WorkerHeartbeat
from autopack_site.roles import MEMBERS_ONLY, ROLE_CAPABILITIES, Capability
from autopack_site.services import agent_key_create, membership_grant
from ledger.models import ActionStatus, ExternalAction, ProviderCredential
from policies.models import GovernancePolicy
from policies.services import action_decide, policy_apply_template, policy_disable, policy_enable
from policies.snapshots import snapshot_of
from runs.models import RunStatus
from runs.services import run_pause
from tests.factories import make_project, make_run, make_staff

pytestmark = pytest.mark.django_db

PERSONAS = [*Role.values, "no_membership", "superuser"]
WHERE = ("own", "other")
_unique = itertools.count(1)


# --- the docs' tables --------------------------------------------------------------------------
def _markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Each table keyed by its first header cell; rows as {header: cell without backticks}."""
    tables: dict[str, list[dict[str, str]]] = {}
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("|") or (index and lines[index - 1].startswith("|")):
            continue
        header = [cell.strip() for cell in line.strip("|").split("|")]
        rows = []
        for row_line in itertools.takewhile(lambda x: x.startswith("|"), lines[index + 2 :]):
            cells = [cell.strip().replace("`", "") for cell in row_line.strip("|").split("|")]
            rows.append(dict(zip(header, cells, strict=True)))
        tables[header[0]] = rows
    return tables


DOCS = _markdown_tables((Path(settings.BASE_DIR) / "docs" / "roles.md").read_text())
ROLE_TABLE = {
    Capability(row["capability"]): {persona for persona in PERSONAS if row.get(persona) == "✓"}
    for row in DOCS["capability"]
}
MODEL_TABLE = {row["model"]: row for row in DOCS["model"]}
ACTION_TABLE = {
    (row["page"], row["action or view"].removesuffix(" view")): row["capability"]
    for row in DOCS["page"]
}


def expected(cell: str, persona: str, where: str) -> bool | None:
    """What the docs say for ``persona`` on a row of its own or another project; None: not
    Autopack's to say (Django's own admin, for a superuser)."""
    if cell == "—":
        return False
    if cell == "site":
        return None if persona == "superuser" else False
    if cell == "superuser":
        return persona == "superuser"
    capability = Capability(cell)
    if persona == "superuser":
        return persona in ROLE_TABLE[capability]
    return where == "own" and persona in ROLE_TABLE[capability]


def label_of(model) -> str:
    return model._meta.label_lower


REGISTERED = sorted(admin.site._registry, key=label_of)


def test_the_docs_role_table_is_roles_py():
    assert set(ROLE_TABLE) == set(Capability)
    for capability, holders in ROLE_TABLE.items():
        roles = {role for role, held in ROLE_CAPABILITIES.items() if capability in held}
        assert holders - {"superuser"} == roles, capability
        assert ("superuser" in holders) == (capability not in MEMBERS_ONLY), capability


def _custom_views(model_admin) -> set[str]:
    prefix = f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    standard = {"changelist", "add", "history", "delete", "change"}
    names = {pattern.name for pattern in model_admin.get_urls() if pattern.name}
    return {name.removeprefix(prefix) for name in names} - standard


def _documented_actions(model_admin) -> set[str]:
    names = {getattr(action, "__name__", action) for action in model_admin.actions or []}
    row = MODEL_TABLE[label_of(model_admin.model)]
    if row["delete"] not in ("—", "site"):
        names.add("delete_selected")
    return names | _custom_views(model_admin)


def test_every_admin_model_action_and_view_is_in_the_docs():
    assert set(MODEL_TABLE) == {label_of(model) for model in REGISTERED}
    for model in REGISTERED:
        model_admin = admin.site._registry[model]
        documented = {name for (page, name) in ACTION_TABLE if page == label_of(model)}
        assert documented == _documented_actions(model_admin), label_of(model)


# --- the world: two projects with one row of everything, and the personas ---------------------
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
        project=project, kind="action", target_ref="matrix", title="matrix", payload={"n": 1}
    )
    make_action(project, ActionStatus.HELD)
    make_credential(project)
    agent_key_create(project=project, name="matrix", scopes=["read"])
    make_member_of(project, colleague, Role.VIEWER)


def make_member_of(project: Project, user: User, role: str) -> ProjectMembership:
    return membership_grant(project=project, user=user, role=role, acting_user=None)


def make_action(project: Project, status: str) -> ExternalAction:
    n = next(_unique)
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
        name=f"matrix-{next(_unique)}",
        environment="sandbox",
        active=False,  # one active credential per provider and environment
        scopes=[],
        allowed_actions=["*"],
        secret_ref="AUTOPACK_MATRIX_WEBHOOK",
        rotated_at=timezone.now(),
    )


def persona_user(persona: str, project: Project) -> User:
    if persona == "superuser":
        return User.objects.create_superuser(username="root", email="")
    if persona == "no_membership":
        return make_staff(project, username="nobody")
    return make_staff(project, persona, username=persona)


@pytest.fixture
def world() -> World:
    own, other = make_project("own-co"), make_project("zz-other-co")
    colleague = make_staff(own, Role.VIEWER, username="colleague")
    users = {persona: persona_user(persona, own) for persona in PERSONAS}
    populate(own, colleague)
    populate(other, colleague)
    WorkerHeartbeat.objects.create(name="matrix", beat_at=timezone.now())
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
    n = next(_unique)
    values = {
        "autopack_site.project": {"slug": f"new-{n}", "name": "New"},
        "autopack_site.projectmembership": {"user": "newcomer", "role": Role.VIEWER},
        "autopack_site.agentkey": {"name": f"new-{n}", "scopes": ["read"]},
        "policies.governancepolicy": {"change_reason": "a first policy"},
        "ledger.providercredential": {
            "provider": "webhook",
            "name": f"new-{n}",
            "secret_ref": "AUTOPACK_MATRIX_NEW",
            "rotated_at_0": "2026-01-01",
            "rotated_at_1": "12:00:00",
        },
    }.get(label, {})
    return {**values, "project": target.pk} if target is not None else values


def change_edits(label: str) -> dict[str, Any]:
    """A change that differs from every earlier one (each persona's must be visible)."""
    n = next(_unique)
    return {
        "autopack_site.project": {"name": f"Renamed {n}"},
        "policies.governancepolicy": {"max_auto_approve_lines": str(n), "change_reason": "m"},
        "ledger.providercredential": {"name": f"renamed-{n}"},
    }.get(label, {})


def _state(obj) -> dict[str, Any]:
    obj = type(obj)._default_manager.get(pk=obj.pk)
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _rows_in(model, project: Project | None) -> int:
    if project is None:
        return model._default_manager.count()
    return model._default_manager.filter(project=project).count()


# --- pages: list, view, add, change, delete ----------------------------------------------------
def _shown(response) -> bool:
    assert response.status_code in (200, 302, 403), response.status_code
    return response.status_code == 200


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def observe_pages(model, persona: str, world: World, builder: Client) -> dict[tuple, bool]:
    """Every verb of one model's admin as ``persona``: {(verb, where): allowed}."""
    client = world.client(persona)
    label = label_of(model)
    seen: dict[tuple, bool] = {}
    changelist = client.get(_url(model, "changelist"))
    seen["list", "own"] = _shown(changelist)
    if seen["list", "own"] and persona != "superuser":
        assert world.other.slug not in changelist.content.decode(), (label, persona)
    seen["add page", "own"] = _shown(client.get(_url(model, "add")))

    for where in WHERE:
        project = world.project(where)
        row = row_in(model, project, world)
        if row is not None:
            view = client.get(_url(model, "change", row.pk))
            seen["view", where] = _shown(view)
            delete = client.get(_url(model, "delete", row.pk))
            seen["delete page", where] = _shown(delete) and b"Are you sure" in delete.content
            if where == "other" and persona != "superuser":
                missing = 10**9
                # another project's row answers exactly like a row that does not exist
                assert view.status_code == client.get(_url(model, "change", missing)).status_code
                assert delete.status_code == client.get(_url(model, "delete", missing)).status_code
            data = form_data(builder.get(_url(model, "change", row.pk)))
            data.update(change_edits(label))
            before = _state(row)
            response = client.post(_url(model, "change", row.pk), data)
            assert response.status_code in (200, 302, 403)
            seen["change", where] = _state(row) != before

        project_scoped = getattr(admin.site._registry[model], "project_field", None) not in (
            None,
            "pk",
        )
        if not project_scoped and where == "other":
            continue  # a new project, heartbeat or site row belongs to no project: one cell
        target = make_add_target(persona, world, where) if project_scoped else None
        data = form_data(builder.get(_url(model, "add")))
        data.update(add_values(label, target))
        count = _rows_in(model, target)
        response = client.post(_url(model, "add"), data)
        assert response.status_code in (200, 302, 403)
        seen["add", where] = _rows_in(model, target) > count
    return seen


def make_add_target(persona: str, world: World, where: str) -> Project:
    """A fresh project (nothing in it yet, e.g. no policy) where ``persona`` holds the same
    roles as in its own project, or none (another project)."""
    project = make_project(f"add-{where}-{next(_unique)}")
    if where == "own" and persona in Role.values:
        make_member_of(project, world.users[persona], persona)
    return project


VERB_COLUMN = {
    "list": "view",
    "view": "view",
    "add page": "add",
    "add": "add",
    "change": "change",
    "delete page": "delete",
}


@pytest.fixture
def newcomer():
    return User.objects.create_user(username="newcomer")


@pytest.mark.parametrize("model", REGISTERED, ids=label_of)
def test_admin_pages_follow_the_table(model, world, newcomer):
    builder = world.client("superuser")
    row = MODEL_TABLE[label_of(model)]
    mismatches = []
    site = not hasattr(admin.site._registry[model], "project_field")
    for persona in PERSONAS:
        if site and persona == "superuser":
            continue  # Django's own admin: not Autopack's to say
        for (verb, where), allowed in observe_pages(model, persona, world, builder).items():
            want = expected(row[VERB_COLUMN[verb]], persona, where)
            if want is not None and want != allowed:
                mismatches.append(f"{persona} {verb} {where}: docs {want}, admin {allowed}")
    assert not mismatches, "\n".join(mismatches)


# --- actions and custom views ------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """A fresh row in the state the action needs, and how to tell it was done."""

    prepare: Callable[[Project], Any]
    done: Callable[[Any], bool]
    extra: Callable[[Any], dict[str, str]] = lambda obj: {}
    url: Callable[[Any], str] | None = None  # a custom view's URL (None: the changelist)


def _fresh(obj):
    return type(obj)._default_manager.filter(pk=obj.pk).first()


def _key(project):
    return agent_key_create(project=project, name=f"k-{next(_unique)}", scopes=["read"])[0]


def _paused_run(project):
    run = make_run(project)
    run_pause(run=run, actor="matrix", reason="")
    return run


def _policy_in_state(enabled: bool):
    def prepare(project):
        policy = GovernancePolicy.objects.get(project=project)
        if policy.enabled != enabled:
            change = policy_enable if enabled else policy_disable
            change(policy=policy, editor=None, reason="matrix")
        return policy

    return prepare


def _approval(project):
    n = next(_unique)
    return approval_request_create(
        project=project, kind="action", target_ref=f"m-{n}", title=f"m-{n}", payload={"n": n}
    )


def _status_of(status):
    return lambda obj: _fresh(obj).status == status


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("autopack_site.projectmembership", "delete_selected"): Scenario(
        lambda p: make_staff(p, Role.VIEWER),
        lambda user: not ProjectMembership.objects.filter(user=user).exists(),
        lambda user: {"post": "yes"},
    ),
    ("autopack_site.agentkey", "action_revoke"): Scenario(
        _key, lambda key: _fresh(key).revoked_at is not None
    ),
    ("runs.run", "action_pause"): Scenario(make_run, _status_of(RunStatus.PAUSED)),
    ("runs.run", "action_resume"): Scenario(
        _paused_run, lambda run: _fresh(run).status != RunStatus.PAUSED
    ),
    ("runs.run", "action_cancel"): Scenario(make_run, _status_of(RunStatus.CANCELLED)),
    ("policies.governancepolicy", "action_disable"): Scenario(
        _policy_in_state(True), lambda policy: not _fresh(policy).enabled
    ),
    ("policies.governancepolicy", "action_enable"): Scenario(
        _policy_in_state(False), lambda policy: _fresh(policy).enabled
    ),
    ("policies.governancepolicy", "preview"): Scenario(
        _policy_in_state(True),
        lambda policy: _fresh(policy).version > policy.version,
        lambda policy: {
            "draft": json.dumps(snapshot_of(policy), default=str),
            "save": "yes",
            "reason": "saved from the preview",
        },
        url=lambda policy: reverse("admin:policies_governancepolicy_preview", args=[policy.pk]),
    ),
    ("approvals.approvalrequest", "approve_low_risk"): Scenario(
        _approval,
        _status_of(ApprovalStatus.APPROVED),
        lambda approval: {f"hash_{approval.pk}": approval.payload_hash},
    ),
    ("approvals.approvalrequest", "decide"): Scenario(
        _approval,
        _status_of(ApprovalStatus.APPROVED),
        lambda approval: {"verdict": "approve", "payload_hash_seen": approval.payload_hash},
        url=lambda approval: reverse("admin:approvals_approvalrequest_decide", args=[approval.pk]),
    ),
    ("ledger.externalaction", "action_record_succeeded"): Scenario(
        lambda p: make_action(p, ActionStatus.NEEDS_RECONCILIATION),
        _status_of(ActionStatus.SUCCEEDED),
    ),
    ("ledger.externalaction", "action_record_failed"): Scenario(
        lambda p: make_action(p, ActionStatus.NEEDS_RECONCILIATION),
        _status_of(ActionStatus.FAILED),
    ),
    ("ledger.externalaction", "action_authorise_retry"): Scenario(
        lambda p: make_action(p, ActionStatus.NEEDS_RECONCILIATION),
        _status_of(ActionStatus.APPROVED),
    ),
    ("ledger.externalaction", "action_release"): Scenario(
        lambda p: make_action(p, ActionStatus.HELD), _status_of(ActionStatus.APPROVED)
    ),
    ("ledger.externalaction", "action_cancel"): Scenario(
        lambda p: make_action(p, ActionStatus.HELD), _status_of(ActionStatus.CANCELLED)
    ),
    ("ledger.providercredential", "delete_selected"): Scenario(
        make_credential, lambda credential: _fresh(credential) is None, lambda c: {"post": "yes"}
    ),
}


def perform(scenario: Scenario, model, client: Client, name: str, obj) -> None:
    if scenario.url is not None:
        response = client.post(scenario.url(obj), scenario.extra(obj))
        assert response.status_code in (200, 302, 403, 404)
        return
    selected = obj.pk
    if model is ProjectMembership:  # the scenario's row is a user: select their membership
        selected = ProjectMembership.objects.get(user=obj).pk
    form = {
        "action": name,
        "_selected_action": [selected],
        "confirmed": "yes",
        "reason": "matrix",
        **scenario.extra(obj),
    }
    response = client.post(_url(model, "changelist"), form)
    assert response.status_code in (200, 302, 403)


@pytest.mark.parametrize(
    ("label", "name"), sorted(ACTION_TABLE), ids=[f"{p}:{n}" for p, n in sorted(ACTION_TABLE)]
)
def test_admin_actions_and_views_follow_the_table(label, name, world):
    model = next(model for model in REGISTERED if label_of(model) == label)
    cell = ACTION_TABLE[label, name]
    mismatches = []
    for persona in PERSONAS:
        client = world.client(persona)
        if cell == "site":
            if persona != "superuser":
                if name in _custom_views(admin.site._registry[model]):
                    response = client.post(_url(model, name, model.objects.first().pk), {})
                else:
                    response = client.post(_url(model, "changelist"), {"action": name})
                if response.status_code != 403:
                    mismatches.append(f"{persona}: site action answered {response.status_code}")
            continue
        scenario = SCENARIOS[label, name]
        for where in WHERE:
            obj = scenario.prepare(world.project(where))
            perform(scenario, model, client, name, obj)
            allowed, want = scenario.done(obj), expected(cell, persona, where)
            if allowed != want:
                mismatches.append(f"{persona} {where}: docs {want}, admin {allowed}")
    assert not mismatches, "\n".join(mismatches)


# --- the explicit cases the issue names ---------------------------------------------------------
def test_a_viewer_cannot_add_a_membership_create_a_key_or_create_or_delete_a_policy(
    client, project, newcomer
):
    viewer = make_staff(project, Role.VIEWER)
    client.force_login(viewer)
    client.post(
        "/admin/autopack_site/projectmembership/add/",
        {"project": project.pk, "user": viewer.username, "role": Role.OPERATOR},
    )
    client.post(
        "/admin/autopack_site/projectmembership/add/",
        {"project": project.pk, "user": "newcomer", "role": Role.VIEWER},
    )
    assert set(ProjectMembership.objects.values_list("user__username", "role")) == {
        (viewer.username, Role.VIEWER)
    }
    client.post(
        "/admin/autopack_site/agentkey/add/",
        {"project": project.pk, "name": "mine", "scopes": ["read", "actions:write"]},
    )
    assert not AgentKey.objects.exists()
    client.post("/admin/policies/governancepolicy/add/", {"project": project.pk})
    assert not GovernancePolicy.objects.exists()
    policy = policy_apply_template(project=project, template="autopack", editor=None)
    response = client.post(f"/admin/policies/governancepolicy/{policy.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert GovernancePolicy.objects.filter(pk=policy.pk).exists()


def test_an_operator_cannot_raise_their_own_role(client, project):
    operator = make_staff(project, Role.OPERATOR)
    client.force_login(operator)
    response = client.post(
        "/admin/autopack_site/projectmembership/add/",
        {"project": project.pk, "user": operator.username, "role": Role.OWNER},
    )
    assert response.status_code in (200, 403)
    assert list(ProjectMembership.objects.values_list("role", flat=True)) == [Role.OPERATOR]


def test_an_owner_changes_nobodys_roles_but_others(client, project):
    owner = make_staff(project, Role.OWNER)
    client.force_login(owner)
    refused = client.post(
        "/admin/autopack_site/projectmembership/add/",
        {"project": project.pk, "user": owner.username, "role": Role.OPERATOR},
    )
    assert "Nobody changes their own roles" in refused.content.decode()
    own = ProjectMembership.objects.get(user=owner)
    assert client.get(f"/admin/autopack_site/projectmembership/{own.pk}/delete/").status_code == 403
    client.post(
        "/admin/autopack_site/projectmembership/",
        {"action": "delete_selected", "_selected_action": [own.pk], "post": "yes"},
    )
    assert ProjectMembership.objects.filter(pk=own.pk).exists()
    colleague = make_staff(project, Role.VIEWER)
    granted = client.post(
        "/admin/autopack_site/projectmembership/add/",
        {"project": project.pk, "user": colleague.username, "role": Role.OWNER},
    )
    assert granted.status_code == 302
    assert ProjectMembership.objects.filter(user=colleague, role=Role.OWNER).exists()


def test_nobody_grants_a_role_above_their_own(project, monkeypatch):
    """Only owners manage members today, so the rank rule is shown with operators allowed too."""
    operators = ROLE_CAPABILITIES[Role.OPERATOR] | {Capability.MANAGE_MEMBERS}
    monkeypatch.setitem(ROLE_CAPABILITIES, Role.OPERATOR, operators)
    operator = make_staff(project, Role.OPERATOR)
    other = make_staff(project)
    with pytest.raises(Forbidden) as refusal:
        membership_grant(project=project, user=other, role=Role.OWNER, acting_user=operator)
    assert refusal.value.code == "role_above_own"
    membership_grant(project=project, user=other, role=Role.POLICY_EDITOR, acting_user=operator)
    for role in Role.values:
        if role != Role.OWNER:
            with pytest.raises(Forbidden):
                membership_grant(
                    project=project,
                    user=other,
                    role=Role.OWNER,
                    acting_user=make_staff(project, role),
                )


def test_the_membership_form_names_a_user_without_listing_every_user(client, project):
    owner = make_staff(project, Role.OWNER)
    make_staff(make_project("elsewhere"), Role.OPERATOR, username="someone-elsewhere")
    client.force_login(owner)
    page = client.get("/admin/autopack_site/projectmembership/add/").content.decode()
    assert "someone-elsewhere" not in page and "elsewhere" not in page
    assert re.search(r'<input type="text" name="user"', page)


def test_the_admin_index_reads_the_roles_once(client, project):
    """Once per request, not once per model or row."""
    operator = make_staff(project, Role.OPERATOR, Role.OWNER)
    client.force_login(operator)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/").status_code == 200
    membership_reads = [q for q in queries if "projectmembership" in q["sql"]]
    assert len(membership_reads) == 1, membership_reads
