"""The admin: the freshness tile shows what the gates endpoint answers, the banner and the
inbox show what the switch and the gates hold, an owner releases the switch after the
confirmation page and an operator cannot."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from autopack_site.models import Role
from ledger.models import ActionStatus
from ledger.services import action_execute
from ledger.tests.conftest import order
from publishing.models import EmergencySwitch, PolicySource
from publishing.monitor import policy_source_fetch
from publishing.switch import emergency_switch_engage
from publishing.tests.conftest import propose
from tests.factories import make_project, make_staff

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_tile_and_the_gates_endpoint_show_the_same_freshness(sources, actor):
    fresh, stale = sources
    policy_source_fetch(fresh.pk)
    policy_source_fetch(stale.pk)
    PolicySource.objects.filter(pk=stale.pk).update(
        last_success_at=timezone.now() - timedelta(days=9)
    )
    api = actor.get("/api/v1/policy/gates/youtube").json()
    viewer = make_staff(fresh.project, Role.VIEWER)
    html = _client(viewer).get("/admin/publishing/policysource/").content.decode()
    tile = {
        int(source): (state, int(age))
        for source, state, age in re.findall(
            r'data-source="(\d+)" data-state="(\w+)" data-age="(\d+)"', html
        )
    }
    assert {s["id"]: s["state"] for s in api["sources"]} == {k: v[0] for k, v in tile.items()}
    assert {s["id"]: s["state"] for s in api["sources"]} == {
        fresh.pk: "unacknowledged",
        stale.pk: "stale",
    }
    for source in api["sources"]:
        assert abs(source["age_seconds"] - tile[source["id"]][1]) <= 2
    assert api["open"] is False and "closed" in html


def test_the_banner_and_the_inbox_show_what_is_held(actor, publishing_project, fake_provider):
    queued = propose(actor, "b-1", "alpaca", "orders.create", order()).json()
    assert queued["status"] == "approved"
    emergency_switch_engage(project=publishing_project, actor="user:x", reason="bad uploads")
    assert action_execute(queued["id"]) == ActionStatus.HELD
    operator = make_staff(publishing_project, Role.OPERATOR)
    page = _client(operator).get("/admin/").content.decode()
    assert 'id="emergency-banner"' in page and "bad uploads" in page
    held = page[page.index('id="publishing-held"') :]
    assert f"#{queued['id']}" in held and "emergency_switch_engaged" in held
    # the ledger's page of the action says the same
    ledger = _client(operator).get(f"/admin/ledger/externalaction/{queued['id']}/change/")
    assert "bad uploads" in ledger.content.decode()
    # another project's staff see neither
    stranger = make_staff(make_project("elsewhere"), Role.OPERATOR)
    page = _client(stranger).get("/admin/").content.decode()
    assert "emergency-banner" not in page and "publishing-held" not in page


def test_an_owner_releases_the_switch_after_confirming_and_an_operator_cannot(
    publishing_project,
):
    emergency_switch_engage(project=publishing_project, actor="user:x", reason="incident")
    switch = EmergencySwitch.objects.get(project=publishing_project)
    form = {"action": "action_release", "_selected_action": [switch.pk]}
    operator = make_staff(publishing_project, Role.OPERATOR)
    _client(operator).post("/admin/publishing/emergencyswitch/", {**form, "confirmed": "yes"})
    switch.refresh_from_db()
    assert switch.status == "engaged"
    owner = make_staff(publishing_project, Role.OWNER)
    client = _client(owner)
    confirm = client.post("/admin/publishing/emergencyswitch/", form)
    assert confirm.status_code == 200 and b"confirmed" in confirm.content
    switch.refresh_from_db()
    assert switch.status == "engaged"  # the confirmation page changes nothing
    client.post("/admin/publishing/emergencyswitch/", {**form, "confirmed": "yes"})
    switch.refresh_from_db()
    assert switch.status == "released" and switch.released_by == f"user:{owner.username}"
