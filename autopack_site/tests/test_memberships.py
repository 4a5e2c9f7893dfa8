"""Explicit membership cases of issue 8: a viewer cannot grant or create, an operator cannot
raise their own role, nobody changes their own roles, nobody grants above their own role."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from autopack_site.errors import Forbidden
from autopack_site.models import AgentKey, ProjectMembership, Role
from autopack_site.roles import ROLE_CAPABILITIES, Capability
from autopack_site.services import membership_grant
from policies.models import GovernancePolicy
from policies.services import policy_apply_template
from tests.factories import make_project, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer():
    return User.objects.create_user(username="newcomer")


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
