"""The provider policy monitor against a real HTTP server on loopback whose pages change
between fetches, fail and answer 304; the gate holds publishing while a required source is
missing, stale or changed and unacknowledged, and acknowledging lets the held action go by
itself."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from autopack_site.errors import Forbidden
from autopack_site.models import Role
from autopack_site.outbox import OutboxMessage
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute, actions_release_guarded
from policies.services import policy_save_snapshot
from publishing.models import PolicyChange, PolicySnapshot, PolicySource
from publishing.monitor import (
    policy_change_acknowledge,
    policy_source_fetch,
    policy_sources_fetch_due,
    policy_sources_install_presets,
)
from publishing.selectors import gate_for
from publishing.tasks import policy_source_alert
from publishing.tests.conftest import POLICY, approve, propose, submit, video
from publishing.tests.policy_server import page
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def _ack_all(project, user):
    for change in PolicyChange.objects.filter(project=project, status="pending"):
        policy_change_acknowledge(change_id=change.pk, user=user, note="read; nothing changes")


def _published_video(actor, approver, key):
    packet = submit(actor)
    approve(packet["id"], approver)
    return propose(actor, key, "youtube", "videos.insert", video(packet["reference"])).json()


def test_fetches_extract_normalise_diff_and_answer_304(sources, pages, approver):
    community = sources[0]
    outcome = policy_source_fetch(community.pk)
    assert outcome == "changed", PolicySource.objects.get(pk=community.pk).last_error
    snapshot = PolicySnapshot.objects.get(source=community)
    assert snapshot.text == "Rules\nCommunity guidelines: be kind.\nNo spam."  # no nav, script
    first = PolicyChange.objects.get(source=community)
    assert first.status == "pending" and first.baseline is None
    policy_change_acknowledge(change_id=first.pk, user=approver, note="baseline read")

    # conditional request: the server answers 304 and nothing new is stored
    assert policy_source_fetch(community.pk) == "not_modified"
    assert pages.pages.requests[-1] == ("/community", '"v1"')
    # the markup around the text changes: a new version but the same text, no change to read
    pages.pages.set("/community", page("Community guidelines: be kind.", "No spam.", noise="v2"))
    assert policy_source_fetch(community.pk) == "unchanged"
    # the words change
    pages.pages.set(
        "/community", page("Community guidelines: be kind.", "No spam.", "No fake giveaways.")
    )
    assert policy_source_fetch(community.pk) == "changed"
    change = PolicyChange.objects.get(source=community, status="pending")
    assert change.baseline == snapshot
    assert "+No fake giveaways." in change.diff and "--- acknowledged" in change.diff
    # changed again before anyone read it: one pending change, diffed against the acknowledged
    pages.pages.set("/community", page("Community guidelines: be nice.", "No spam."))
    assert policy_source_fetch(community.pk) == "changed"
    latest = PolicyChange.objects.get(source=community, status="pending")
    assert latest.baseline == snapshot and "-Community guidelines: be kind." in latest.diff
    assert PolicyChange.objects.get(pk=change.pk).status == "superseded"


def test_repeated_failures_alert_an_operator_and_a_success_clears_it(
    sources, pages, approver, settings
):
    settings.AUTOPACK_POLICY_ALERT_FAILURES = 3
    approver.email = "ops@example.com"
    approver.save()
    source = sources[0]
    pages.pages.failing["/community"] = 503
    for _ in range(3):
        assert policy_source_fetch(source.pk) == "failed"
    source.refresh_from_db()
    assert source.consecutive_failures == 3 and source.alerted_at is not None
    assert "HTTP 503" in source.last_error
    assert OutboxMessage.objects.filter(task="publishing.tasks.policy_source_alert").count() == 1
    assert policy_source_alert(source.pk) == 1
    assert mail.outbox[-1].to == ["ops@example.com"] and "failing" in mail.outbox[-1].subject
    assert gate_for(project=source.project, provider="youtube").sources[0].alerting
    pages.pages.failing.clear()
    assert policy_source_fetch(source.pk) == "changed"
    source.refresh_from_db()
    assert source.consecutive_failures == 0 and source.alerted_at is None


def test_the_schedule_fetches_what_is_due_with_jitter(sources, settings):
    settings.AUTOPACK_POLICY_FETCH_HOURS = 6
    assert policy_sources_fetch_due() == {"changed": 2}
    assert policy_sources_fetch_due() == {}  # nothing due until the next interval
    due = [s.next_fetch_at for s in PolicySource.objects.all()]
    now = timezone.now()
    assert all(timedelta(hours=5) < at - now < timedelta(hours=7) for at in due)


@pytest.mark.parametrize("state", ["missing", "stale", "unacknowledged"])
def test_a_closed_gate_holds_publishing_and_acknowledging_releases_it(
    state, sources, pages, actor, approver, fake_provider
):
    project = sources[0].project
    for source in sources:
        policy_source_fetch(source.pk)
    _ack_all(project, approver)
    _community, synthetic = sources
    if state == "missing":  # a required source added and not fetched yet
        pages.pages.set("/spam", page("Synthetic media, spam section: no spam."))
        synthetic = PolicySource.objects.create(
            project=project,
            provider="youtube",
            name="Synthetic media (spam)",
            url=pages.url + "/spam",
            category="spam_deceptive",
        )
    elif state == "stale":
        PolicySource.objects.filter(pk=synthetic.pk).update(
            last_success_at=timezone.now() - timedelta(days=8)
        )
    assert gate_for(project=project, provider="youtube").open is (state == "unacknowledged")
    if state == "unacknowledged":
        pages.pages.set("/ai", page("Synthetic media: label altered content."))
        assert policy_source_fetch(synthetic.pk) == "changed"

    body = _published_video(actor, approver, f"gate-{state}")
    assert body["status"] == "held"
    action = ExternalAction.objects.get(pk=body["id"])
    assert "Synthetic media" in action.error and f"provider_policy_{state}" in action.error
    assert "Community guidelines" not in action.error
    gate = actor.get("/api/v1/policy/gates/youtube").json()
    assert gate["open"] is False and gate["reason_code"] == f"provider_policy_{state}"
    assert actions_release_guarded() == 0

    if state == "unacknowledged":
        _ack_all(project, approver)
    else:  # the next successful fetch brings it back; the text still needs reading if new
        PolicySource.objects.filter(pk=synthetic.pk).update(etag="")
        assert policy_source_fetch(synthetic.pk) in ("changed", "unchanged")
        _ack_all(project, approver)
    assert actions_release_guarded() == 1  # nobody proposes it again
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED


def test_only_publishing_supervisors_acknowledge_with_a_note(sources, approver):
    policy_source_fetch(sources[0].pk)
    change = PolicyChange.objects.get(source=sources[0])
    viewer = make_member(sources[0].project, Role.VIEWER)
    with pytest.raises(Forbidden):
        policy_change_acknowledge(change_id=change.pk, user=viewer, note="seen")
    from autopack_site.errors import Unprocessable

    with pytest.raises(Unprocessable):
        policy_change_acknowledge(change_id=change.pk, user=approver, note=" ")
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = policy_change_acknowledge(change_id=change.pk, user=approver, note="fine")
    assert done.acknowledged_by == f"user:{approver.username}" and done.note == "fine"
    assert [e.to_status for e in done.events.all()] == ["pending", "acknowledged"]


def test_a_policy_requiring_fresh_rules_asks_a_person_while_the_gate_is_closed(
    sources, actor, approver, publishing_project
):
    snapshot = {**POLICY, "action_rules": [dict(POLICY["action_rules"][0])]}
    snapshot["action_rules"][0]["fresh_provider_policy_required"] = True
    policy_save_snapshot(project=publishing_project, snapshot=snapshot, editor=None, reason="t")
    body = _published_video(actor, approver, "fresh-1")
    assert body["status"] == "pending_approval"
    assert "recently" in body["decision"]["reasons"][0]["message"]


def test_presets_cover_the_issue_s_sources(publishing_project):
    names = {
        provider: {
            s.category
            for s in policy_sources_install_presets(project=publishing_project, provider=provider)
        }
        for provider in ("youtube", "etsy", "shopify")
    }
    assert names["youtube"] == {
        "community_guidelines",
        "synthetic_content",
        "spam_deceptive",
        "partner_programme",
    }
    assert names["etsy"] == {"prohibited_items", "intellectual_property", "creativity_standards"}
    assert names["shopify"] == {"acceptable_use", "prohibited_items"}
    assert policy_sources_install_presets(project=publishing_project, provider="etsy") == []
