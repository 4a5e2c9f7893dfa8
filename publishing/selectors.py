"""Reads: the policy gate of a provider (what the gates endpoint, the admin tile and the guard
all show, from this one function), packets, switches."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from autopack_site.models import Project
from publishing.conf import publishing_settings
from publishing.models import (
    INSTALLATION,
    EmergencySwitch,
    PolicyChange,
    PolicyChangeStatus,
    PolicySnapshot,
    PolicySource,
    PublishPacket,
    SwitchStatus,
)

# A source's freshness, worst first; only required, enabled sources close the gate.
MISSING, STALE, UNACKNOWLEDGED, FRESH, DISABLED = (
    "missing",
    "stale",
    "unacknowledged",
    "fresh",
    "disabled",
)
CLOSES = {
    MISSING: "provider_policy_missing",
    STALE: "provider_policy_stale",
    UNACKNOWLEDGED: "provider_policy_unacknowledged",
}


@dataclass(frozen=True)
class SourceState:
    id: int
    name: str
    url: str
    category: str
    required: bool
    enabled: bool
    state: str
    last_success_at: datetime | None
    age_seconds: int | None
    pending_change: int | None
    snapshot: int | None
    snapshot_hash: str
    consecutive_failures: int
    alerting: bool
    last_error: str

    def explain(self) -> str:
        return {
            MISSING: f"{self.name!r} has never been fetched",
            STALE: f"{self.name!r} has not been fetched successfully for too long",
            UNACKNOWLEDGED: (
                f"{self.name!r} changed and the change (#{self.pending_change}) is not acknowledged"
            ),
        }.get(self.state, f"{self.name!r} is {self.state}")


@dataclass(frozen=True)
class Gate:
    provider: str
    configured: bool  # any enabled source: without one the provider's rules are not watched
    open: bool
    sources: list[SourceState] = field(default_factory=list)

    @property
    def closing(self) -> list[SourceState]:
        return [s for s in self.sources if s.required and s.enabled and s.state in CLOSES]

    def reason(self) -> tuple[str, str] | None:
        closing = self.closing
        if not closing:
            return None
        why = "; ".join(source.explain() for source in closing)
        return CLOSES[closing[0].state], f"{self.provider}'s policy gate is closed: {why}."


def _state(source: PolicySource, latest: PolicySnapshot | None, pending, now) -> str:
    if not source.enabled:
        return DISABLED
    if latest is None or source.last_success_at is None:
        return MISSING
    if now - source.last_success_at > publishing_settings().stale_after:
        return STALE
    if pending is not None:
        return UNACKNOWLEDGED
    return FRESH


def gate_for(*, project: Project | int, provider: str, now: datetime | None = None) -> Gate:
    now = now or timezone.now()
    project_id = project.pk if isinstance(project, Project) else project
    sources = list(PolicySource.objects.filter(project_id=project_id, provider=provider))
    ids = [s.pk for s in sources]
    latest: dict[int, PolicySnapshot] = {}
    for snapshot in PolicySnapshot.objects.filter(source_id__in=ids).order_by("fetched_at", "id"):
        latest[snapshot.source_id] = snapshot
    pending = {
        change.source_id: change
        for change in PolicyChange.objects.filter(
            source_id__in=ids, status=PolicyChangeStatus.PENDING
        )
    }
    states = []
    for source in sources:
        snap = latest.get(source.pk)
        change = pending.get(source.pk)
        states.append(
            SourceState(
                id=source.pk,
                name=source.name,
                url=source.url,
                category=source.category,
                required=source.required,
                enabled=source.enabled,
                state=_state(source, snap, change, now),
                last_success_at=source.last_success_at,
                age_seconds=(
                    int((now - source.last_success_at).total_seconds())
                    if source.last_success_at
                    else None
                ),
                pending_change=change.pk if change else None,
                snapshot=snap.pk if snap else None,
                snapshot_hash=snap.content_hash if snap else "",
                consecutive_failures=source.consecutive_failures,
                alerting=source.alerted_at is not None,
                last_error=source.last_error,
            )
        )
    configured = any(s.enabled for s in sources)
    gate = Gate(provider=provider, configured=configured, open=True, sources=states)
    return Gate(provider=provider, configured=configured, open=not gate.closing, sources=states)


def packet_get(*, project: Project, pk: int) -> PublishPacket | None:
    return PublishPacket.objects.filter(project=project, pk=pk).first()


def packets_for_project(*, project: Project) -> QuerySet[PublishPacket]:
    return PublishPacket.objects.filter(project=project)


def switch_scope(project_id: int | None) -> str:
    return INSTALLATION if project_id is None else f"project:{project_id}"


def engaged_switches(project_id: int) -> list[EmergencySwitch]:
    """The installation's switch and the project's, those engaged."""
    return list(
        EmergencySwitch.objects.filter(
            scope__in=[INSTALLATION, switch_scope(project_id)], status=SwitchStatus.ENGAGED
        ).order_by("scope")
    )


def switch_of(*, project: Project | None) -> EmergencySwitch | None:
    return EmergencySwitch.objects.filter(
        scope=switch_scope(project.pk if project else None)
    ).first()
