"""The role matrix (issue 8): every registered admin model, action and custom view, as every
role, a staff user without membership and a superuser, on a row of the user's own project and of
another project, through the admin's real views. Each cell must be allowed or refused exactly as
docs/roles.md says, and the docs' role table must be autopack_site/roles.py's."""

import pytest
from django.contrib import admin
from django.test import Client

from autopack_site.roles import MEMBERS_ONLY, ROLE_CAPABILITIES, Capability
from tests.role_matrix.scenarios import SCENARIOS, perform
from tests.role_matrix.tables import (
    ACTION_TABLE,
    MODEL_TABLE,
    PERSONAS,
    REGISTERED,
    ROLE_TABLE,
    WHERE,
    custom_views,
    documented_actions,
    expected,
    label_of,
)
from tests.role_matrix.world import (
    World,
    add_values,
    admin_url,
    build_world,
    change_edits,
    form_data,
    make_add_target,
    row_in,
    row_state,
    rows_in,
    shown,
)

pytestmark = pytest.mark.django_db

VERB_COLUMN = {
    "list": "view",
    "view": "view",
    "add page": "add",
    "add": "add",
    "change": "change",
    "delete page": "delete",
}


@pytest.fixture
def world() -> World:
    return build_world()


def test_the_docs_role_table_is_roles_py():
    assert set(ROLE_TABLE) == set(Capability)
    for capability, holders in ROLE_TABLE.items():
        roles = {role for role, held in ROLE_CAPABILITIES.items() if capability in held}
        assert holders - {"superuser"} == roles, capability
        assert ("superuser" in holders) == (capability not in MEMBERS_ONLY), capability


def test_every_admin_model_action_and_view_is_in_the_docs():
    assert set(MODEL_TABLE) == {label_of(model) for model in REGISTERED}
    for model in REGISTERED:
        documented = {name for (page, name) in ACTION_TABLE if page == label_of(model)}
        assert documented == documented_actions(admin.site._registry[model]), label_of(model)


def observe_pages(model, persona: str, world: World, builder: Client) -> dict[tuple, bool]:
    """Every verb of one model's admin as ``persona``: {(verb, where): allowed}."""
    client = world.client(persona)
    label = label_of(model)
    seen: dict[tuple, bool] = {}
    changelist = client.get(admin_url(model, "changelist"))
    seen["list", "own"] = shown(changelist)
    if seen["list", "own"] and persona != "superuser":
        assert world.other.slug not in changelist.content.decode(), (label, persona)
    seen["add page", "own"] = shown(client.get(admin_url(model, "add")))

    for where in WHERE:
        row = row_in(model, world.project(where), world)
        if row is not None:
            view = client.get(admin_url(model, "change", row.pk))
            seen["view", where] = shown(view)
            delete = client.get(admin_url(model, "delete", row.pk))
            seen["delete page", where] = shown(delete) and b"Are you sure" in delete.content
            if where == "other" and persona != "superuser":
                # another project's row answers exactly like a row that does not exist
                missing = 10**9
                for view_name, response in (("change", view), ("delete", delete)):
                    absent = client.get(admin_url(model, view_name, missing))
                    assert response.status_code == absent.status_code, (label, persona)
            data = form_data(builder.get(admin_url(model, "change", row.pk)))
            data.update(change_edits(label))
            before = row_state(row)
            assert client.post(admin_url(model, "change", row.pk), data).status_code in (
                200,
                302,
                403,
            )
            seen["change", where] = row_state(row) != before

        project_field = getattr(admin.site._registry[model], "project_field", None)
        project_scoped = project_field not in (None, "pk")
        if not project_scoped and where == "other":
            continue  # a new project, heartbeat or site row belongs to no project: one cell
        target = make_add_target(persona, world, where) if project_scoped else None
        data = form_data(builder.get(admin_url(model, "add")))
        data.update(add_values(label, target))
        count = rows_in(model, target)
        assert client.post(admin_url(model, "add"), data).status_code in (200, 302, 403)
        seen["add", where] = rows_in(model, target) > count
    return seen


@pytest.mark.parametrize("model", REGISTERED, ids=label_of)
def test_admin_pages_follow_the_table(model, world):
    builder = world.client("superuser")
    row = MODEL_TABLE[label_of(model)]
    site = not hasattr(admin.site._registry[model], "project_field")
    mismatches = []
    for persona in PERSONAS:
        if site and persona == "superuser":
            continue  # Django's own admin: not Autopack's to say
        for (verb, where), allowed in observe_pages(model, persona, world, builder).items():
            want = expected(row[VERB_COLUMN[verb]], persona, where)
            if want is not None and want != allowed:
                mismatches.append(f"{persona} {verb} {where}: docs {want}, admin {allowed}")
    assert not mismatches, "\n".join(mismatches)


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
                if name in custom_views(admin.site._registry[model]):
                    response = client.post(admin_url(model, name, model.objects.first().pk), {})
                else:
                    response = client.post(admin_url(model, "changelist"), {"action": name})
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
