"""Races on PostgreSQL with real threads: the switch is engaged once however many pull it, and
a packet revised while its approval is decided is never approved with the old content."""

import pytest
from django.db import transaction

from autopack_site.errors import DomainError
from ledger.tests.test_concurrency import in_threads
from publishing.models import EmergencySwitch, PacketStatus, PublishPacket, SwitchEvent
from publishing.switch import emergency_switch_engage
from publishing.tests.conftest import approve, packet_body, submit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_sixteen_agents_pulling_the_switch_engage_it_once(publishing_project):
    in_threads(
        16,
        lambda i: emergency_switch_engage(
            project=publishing_project, actor=f"agent:a{i}:x", reason=f"pull {i}"
        ),
    )
    switch = EmergencySwitch.objects.get(project=publishing_project)
    assert switch.status == "engaged"
    assert SwitchEvent.objects.filter(switch=switch, to_status="engaged").count() == 1


def test_a_revision_racing_the_approval_never_approves_the_old_content(
    actor, approver, publishing_project
):
    for round_ in range(5):
        packet = submit(actor, title=f"Round {round_}")

        def work(i, packet=packet, round_=round_):
            if i == 0:
                try:
                    return approve(packet["id"], approver).status
                except DomainError as refusal:
                    return refusal.code
            return actor.post(
                f"/api/v1/publish-packets/{packet['id']}/revisions",
                packet_body(title=f"Round {round_} revised"),
                format="json",
            ).status_code

        in_threads(2, work)
        row = PublishPacket.objects.get(pk=packet["id"])
        if row.status == PacketStatus.APPROVED:
            assert row.title.endswith("revised") and row.approved_hash == row.content_hash
        assert transaction.get_autocommit()
