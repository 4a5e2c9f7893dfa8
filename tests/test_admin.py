import pytest
from django.contrib.auth.models import User

from autopack_site.models import AgentKey, Role
from runs.models import Run
from tests.factories import make_project, make_run, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_operator(project):
    """Operates runs and, as the project's owner too, manages its keys."""
    return make_staff(project, Role.OPERATOR, Role.OWNER, username="opal")


def login(client, user: User):
    client.force_login(user)
    return client


def test_operator_sees_only_their_projects_runs(client, project, staff_operator):
    mine = make_run(project, run_id="mine")
    make_run(make_project("elsewhere"), run_id="theirs")
    response = login(client, staff_operator).get("/admin/runs/run/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "build/mine" in html
    assert "build/theirs" not in html
    assert client.get(f"/admin/runs/run/{mine.pk}/change/").status_code == 200
    other = Run.objects.get(run_id="theirs")
    assert client.get(f"/admin/runs/run/{other.pk}/change/").status_code == 302  # not found


def test_pause_asks_for_confirmation_then_pauses(client, project, staff_operator):
    run = make_run(project)
    login(client, staff_operator)
    form = {"action": "action_pause", "_selected_action": [run.pk]}
    confirm = client.post("/admin/runs/run/", form)
    assert confirm.status_code == 200
    assert b"Yes, pause" in confirm.content
    run.refresh_from_db()
    assert run.status == "pending"  # nothing happened before confirmation
    client.post("/admin/runs/run/", {**form, "confirmed": "yes", "reason": "maintenance"})
    run.refresh_from_db()
    assert run.status == "paused"
    event = run.events.last()
    assert (event.actor, event.reason) == ("user:opal", "maintenance")


def test_cancel_needs_a_reason(client, project, staff_operator):
    run = make_run(project)
    login(client, staff_operator)
    form = {"action": "action_cancel", "_selected_action": [run.pk], "confirmed": "yes"}
    client.post("/admin/runs/run/", {**form, "reason": ""})
    run.refresh_from_db()
    assert run.status == "pending"
    client.post("/admin/runs/run/", {**form, "reason": "wrong goal"})
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_admin_creates_a_key_and_shows_it_once(client, project, staff_operator):
    login(client, staff_operator)
    response = client.post(
        "/admin/autopack_site/agentkey/add/",
        {"project": project.pk, "name": "from-admin", "scopes": ["read", "runs:write"]},
        follow=True,
    )
    assert response.status_code == 200
    key = AgentKey.objects.get(name="from-admin")
    shown = [str(m) for m in response.context["messages"]]
    plaintext = next(m.split("<code>")[1].split("</code>")[0] for m in shown if "<code>" in m)
    assert plaintext.startswith(f"apk_{key.prefix}_")
    page = client.get(f"/admin/autopack_site/agentkey/{key.pk}/change/").content.decode()
    assert plaintext not in page


def test_admin_revokes_a_key_after_confirmation(client, project, staff_operator):
    from autopack_site.services import agent_key_create

    key, _ = agent_key_create(project=project, name="to-revoke", scopes=["read"])
    login(client, staff_operator)
    form = {"action": "action_revoke", "_selected_action": [key.pk]}
    assert b"Yes, revoke" in client.post("/admin/autopack_site/agentkey/", form).content
    client.post("/admin/autopack_site/agentkey/", {**form, "confirmed": "yes", "reason": "leak"})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "leak" in key.revoked_reason
