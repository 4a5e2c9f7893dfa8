"""Rows to API models."""

from publishing.models import EmergencySwitch, PublishPacket
from publishing.schemas import GateOut, PacketOut, PacketRefOut, SourceStateOut, SwitchOut
from publishing.selectors import Gate


def packet_out(packet: PublishPacket) -> PacketOut:
    return PacketOut(
        id=packet.pk,
        provider=packet.provider,
        action=packet.action,
        title=packet.title,
        description=packet.description,
        tags=packet.tags,
        media=packet.media,
        ai_generated=packet.ai_generated,
        target=packet.target,
        status=packet.status,
        revision=packet.revision,
        content_hash=packet.content_hash,
        flags=packet.flags,
        policy_snapshots=packet.policy_snapshots,
        approval=packet.approval_id,
        reference=PacketRefOut(id=packet.pk, content_hash=packet.content_hash),
        created_at=packet.created_at,
        updated_at=packet.updated_at,
    )


def gate_out(gate: Gate) -> GateOut:
    reason = gate.reason()
    return GateOut(
        provider=gate.provider,
        configured=gate.configured,
        open=gate.open,
        reason=reason[1] if reason else None,
        reason_code=reason[0] if reason else None,
        sources=[
            SourceStateOut(
                id=s.id,
                name=s.name,
                url=s.url,
                category=s.category,
                required=s.required,
                enabled=s.enabled,
                state=s.state,
                last_success_at=s.last_success_at,
                age_seconds=s.age_seconds,
                pending_change=s.pending_change,
                consecutive_failures=s.consecutive_failures,
                alerting=s.alerting,
            )
            for s in gate.sources
        ],
    )


def switch_out(switch: EmergencySwitch) -> SwitchOut:
    return SwitchOut(
        scope="installation" if switch.project_id is None else "project",
        status=switch.status,
        reason=switch.engage_reason,
        engaged_by=switch.engaged_by,
        engaged_at=switch.engaged_at,
        released_by=switch.released_by,
        released_at=switch.released_at,
    )
