"""The artifact machine: stored until retention archives or deletes it. Every move appends an
ArtifactEvent; a deletion's event names the path, size and hash that were removed."""

from artifacts.models import (
    Artifact,
    ArtifactEvent,
    ArtifactStatus,
    Handoff,
    HandoffEvent,
    HandoffStatus,
)
from autopack_site.state_machine import StateMachine

ARTIFACT = StateMachine(
    model=Artifact,
    transitions={
        ArtifactStatus.STORED: {ArtifactStatus.ARCHIVED, ArtifactStatus.DELETED},
        ArtifactStatus.ARCHIVED: (),
        ArtifactStatus.DELETED: (),
    },
    initial={ArtifactStatus.STORED},
    event_model=ArtifactEvent,
    event_owner=lambda artifact: {"artifact_id": artifact.pk},
)

HANDOFF = StateMachine(
    model=Handoff,
    transitions={
        HandoffStatus.BRIEFED: {HandoffStatus.ACCEPTED, HandoffStatus.CANCELLED},
        HandoffStatus.ACCEPTED: (),
        HandoffStatus.CANCELLED: (),
    },
    initial={HandoffStatus.BRIEFED},
    event_model=HandoffEvent,
    event_owner=lambda handoff: {"handoff_id": handoff.pk},
)
