"""The publishing machines walked on real rows (tests/test_state_machines.py walks the core
apps'), and their history tables are append-only."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from autopack_site.state_machine import IllegalTransition
from publishing.models import (
    EmergencySwitch,
    PolicySnapshot,
    PolicySource,
    PublishPacket,
    SwitchEvent,
)
from publishing.monitor import _store
from publishing.transitions import PACKET, POLICY_CHANGE, SWITCH
from tests.factories import make_project

pytestmark = pytest.mark.django_db


def _makers():
    project = make_project("machines")
    counter = iter(range(10_000))

    def packet():
        return PublishPacket.objects.create(
            project=project,
            provider="youtube",
            action="videos.insert",
            title="t",
            content_hash="0" * 64,
            status="pending_approval",
        )

    def change():
        source = PolicySource.objects.create(
            project=project,
            provider="youtube",
            name=f"s-{next(counter)}",
            url="https://example.com/",
            category="other",
        )
        with transaction.atomic():
            _store(source, "text")
        return source.changes.get()

    def switch():
        return EmergencySwitch.objects.create(
            scope=f"test:{next(counter)}", project=None, status="released"
        )

    return {PACKET: packet, POLICY_CHANGE: change, SWITCH: switch}


def test_every_publishing_machine_walks_its_table():
    for machine, make in _makers().items():
        for from_status, targets in machine.transitions.items():
            for to_status in sorted(targets):
                row = make()
                type(row).objects.filter(pk=row.pk).update(status=from_status)
                row.refresh_from_db()
                machine.move(row, to_status, actor="test", reason="walk")
                row.refresh_from_db()
                assert row.status == to_status
                event = machine.event_model.objects.filter(**machine.event_owner(row)).latest("id")
                assert (event.from_status, event.to_status) == (from_status, to_status)
        for terminal in machine.terminal:
            row = make()
            type(row).objects.filter(pk=row.pk).update(status=terminal)
            row.refresh_from_db()
            with pytest.raises(IllegalTransition):
                machine.move(row, sorted(set(machine.transitions) - {terminal})[0], actor="t")


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_history_is_append_only_in_the_database():
    make = _makers()
    make[POLICY_CHANGE]()
    make[SWITCH]()
    for model in (PolicySnapshot, SwitchEvent):
        with pytest.raises(DatabaseError), transaction.atomic():
            model.objects.all().update(actor="x") if model is SwitchEvent else (
                model.objects.all().update(text="x")
            )
