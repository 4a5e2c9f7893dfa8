"""The publishing machines. Anything not listed is refused; every move appends its event.

A packet that is edited goes back to pending_approval (or blocked, when a blocking flag is
raised) from wherever it was, except cancelled; a policy change is acknowledged once or replaced
by a newer change of its source; a switch is engaged or released, any number of times."""

from autopack_site.state_machine import StateMachine
from publishing.models import (
    EmergencySwitch,
    PacketEvent,
    PacketStatus,
    PolicyChange,
    PolicyChangeEvent,
    PolicyChangeStatus,
    PublishPacket,
    SwitchEvent,
    SwitchStatus,
)

P = PacketStatus
PACKET = StateMachine(
    model=PublishPacket,
    label="publish packet",
    transitions={
        P.PENDING_APPROVAL: {
            P.APPROVED,
            P.REJECTED,
            P.EXPIRED,
            P.CANCELLED,
            P.PENDING_APPROVAL,
            P.BLOCKED,
        },
        P.BLOCKED: {P.PENDING_APPROVAL, P.BLOCKED, P.CANCELLED},
        P.APPROVED: {P.PENDING_APPROVAL, P.BLOCKED, P.CANCELLED},
        P.REJECTED: {P.PENDING_APPROVAL, P.BLOCKED},
        P.EXPIRED: {P.PENDING_APPROVAL, P.BLOCKED},
        P.CANCELLED: (),
    },
    initial={P.PENDING_APPROVAL, P.BLOCKED},
    event_model=PacketEvent,
    event_owner=lambda packet: {"packet_id": packet.pk},
    topic=lambda packet: f"publish_packet:{packet.pk}",
)

C = PolicyChangeStatus
POLICY_CHANGE = StateMachine(
    model=PolicyChange,
    label="policy change",
    transitions={
        C.PENDING: {C.ACKNOWLEDGED, C.SUPERSEDED},
        C.ACKNOWLEDGED: (),
        C.SUPERSEDED: (),
    },
    initial={C.PENDING},
    event_model=PolicyChangeEvent,
    event_owner=lambda change: {"change_id": change.pk},
)

SWITCH = StateMachine(
    model=EmergencySwitch,
    label="emergency switch",
    transitions={
        SwitchStatus.RELEASED: {SwitchStatus.ENGAGED},
        SwitchStatus.ENGAGED: {SwitchStatus.RELEASED},
    },
    initial={SwitchStatus.RELEASED, SwitchStatus.ENGAGED},
    event_model=SwitchEvent,
    event_owner=lambda switch: {"switch_id": switch.pk},
)
