"""Publish packets bound to what is published: the action carries the approved packet's id and
content hash; a mismatch is denied at proposal, and a packet edited after approval stops the
queued action before the call."""

import pytest

from approvals.models import ApprovalRequest
from ledger.models import ActionStatus, ExternalAction
from ledger.services import action_execute
from publishing.models import PacketStatus, PublishPacket, PublishTermList
from publishing.tests.conftest import approve, packet_body, propose, submit, video

pytestmark = pytest.mark.django_db


def _reasons(body) -> set[str]:
    return {reason["code"] for reason in body["decision"]["reasons"]}


def test_an_approved_packet_lets_its_exact_content_publish(
    actor, approver, publishing_project, fake_provider
):
    packet = submit(actor)
    assert packet["status"] == "pending_approval" and packet["flags"] == []
    approve(packet["id"], approver)
    body = propose(actor, "p-1", "youtube", "videos.insert", video(packet["reference"])).json()
    assert body["status"] == "approved", body["decision"]
    assert action_execute(body["id"]) == ActionStatus.SUCCEEDED
    sent = fake_provider.state_snapshot()["created"]["youtube"][0]
    assert "publish_packet" not in sent  # the reference is ours, never the provider's


def test_content_that_differs_from_the_approved_packet_is_denied_at_proposal(
    actor, approver, publishing_project
):
    packet = submit(actor)
    approve(packet["id"], approver)
    body = propose(
        actor, "p-2", "youtube", "videos.insert", video(packet["reference"], title="Other title")
    ).json()
    assert body["status"] == "denied"
    assert "publish_packet_mismatch" in _reasons(body)
    forged = {"id": packet["id"], "content_hash": "0" * 64}
    body = propose(actor, "p-3", "youtube", "videos.insert", video(forged)).json()
    assert body["status"] == "denied" and "publish_packet_mismatch" in _reasons(body)


def test_an_unapproved_packet_or_none_at_all_is_denied(actor, publishing_project):
    packet = submit(actor)
    body = propose(actor, "p-4", "youtube", "videos.insert", video(packet["reference"])).json()
    assert body["status"] == "denied" and "publish_packet_not_approved" in _reasons(body)
    body = propose(actor, "p-5", "youtube", "videos.insert", video()).json()
    assert body["status"] == "denied" and "publish_packet_required" in _reasons(body)


def test_a_packet_edited_after_approval_stops_the_queued_action_before_the_call(
    actor, approver, publishing_project, fake_provider
):
    packet = submit(actor)
    approve(packet["id"], approver)
    body = propose(actor, "p-6", "youtube", "videos.insert", video(packet["reference"])).json()
    assert body["status"] == "approved"
    edited = actor.post(
        f"/api/v1/publish-packets/{packet['id']}/revisions",
        packet_body(description="Now with a different text."),
        format="json",
    ).json()
    assert edited["status"] == "pending_approval" and edited["revision"] == 2
    assert edited["content_hash"] != packet["content_hash"]
    assert action_execute(body["id"]) == ActionStatus.FAILED
    action = ExternalAction.objects.get(pk=body["id"])
    assert action.events.last().detail["code"] == "publish_packet_not_approved"
    assert not fake_provider.state_snapshot()["created"].get("youtube")
    # approving the new content does not bless the old action's content hash
    approve(packet["id"], approver)
    body = propose(actor, "p-7", "youtube", "videos.insert", video(packet["reference"])).json()
    assert body["status"] == "denied" and "publish_packet_mismatch" in _reasons(body)


def test_a_packet_with_a_blocking_flag_cannot_be_approved(actor, approver, publishing_project):
    PublishTermList.objects.create(
        project=publishing_project, kind="banned", terms="miracle cure\n"
    )
    PublishTermList.objects.create(
        project=publishing_project, kind="trademark", provider="youtube", terms="Lego"
    )
    packet = submit(actor, title="A miracle cure for Lego fans")
    flags = {(f["code"], f["severity"]) for f in packet["flags"]}
    assert flags == {("banned_content", "blocking"), ("trademark_term", "warning")}
    assert packet["status"] == "blocked" and packet["approval"] is None
    assert not ApprovalRequest.objects.filter(kind="publish_packet").exists()
    body = propose(actor, "p-8", "youtube", "videos.insert", video(packet["reference"])).json()
    assert body["status"] == "denied"
    # the blocking flag also wins over an approval given before the terms changed
    clean = submit(actor, title="Fine title")
    PublishTermList.objects.create(project=publishing_project, kind="banned", terms="fine")
    packet_row = PublishPacket.objects.get(pk=clean["id"])
    packet_row.flags = [{"code": "banned_content", "severity": "blocking", "message": "x"}]
    packet_row.save(update_fields=["flags"])
    assert approve(clean["id"], approver).status == PacketStatus.BLOCKED


def test_ai_generated_content_needs_its_disclosure_where_the_provider_requires_it(
    actor, publishing_project
):
    missing = submit(actor, ai_generated=True)
    assert [f["code"] for f in missing["flags"]] == ["ai_disclosure_missing"]
    assert missing["status"] == "blocked"
    disclosed = submit(actor, ai_generated=True, description="A film. AI-generated voice.")
    assert disclosed["flags"] == [] and disclosed["status"] == "pending_approval"
    shopify = submit(actor, provider="shopify", action="products.create", ai_generated=True)
    assert shopify["flags"] == []  # Shopify's rules do not require it


def test_an_agent_mode_action_is_checked_again_when_the_agent_claims_it(
    actor, approver, publishing_project
):
    packet = submit(actor)
    approve(packet["id"], approver)
    body = propose(
        actor, "p-9", "youtube", "videos.insert", video(packet["reference"]), mode="agent"
    ).json()
    assert body["status"] == "approved"
    actor.post(
        f"/api/v1/publish-packets/{packet['id']}/revisions",
        packet_body(title="Edited after approval"),
        format="json",
    )
    claim = actor.post(f"/api/v1/actions/{body['id']}/claim")
    assert claim.status_code == 409
    assert claim.json()["error"]["code"] == "publish_packet_not_approved"
    assert ExternalAction.objects.get(pk=body["id"]).status == ActionStatus.FAILED
