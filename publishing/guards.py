"""The publishing app's action guards (ledger/guards.py), registered in PublishingConfig.ready:

- ``emergency-switch`` (every provider and action): engaged, every proposal needs a person, and
  no execution runs unless its approval was decided after the switch was engaged (a person
  reviewed it under the switch); the hold names the switch, who engaged it and why.
- ``publishing-compliance`` (publishing and listing actions, publishing/conf.py): supplies the
  facts ``provider_policy_fresh`` and ``publish_packet_approved`` to the policy; holds while the
  provider's policy gate is closed (a required source missing, stale or with an unacknowledged
  change); refuses an action whose packet is unknown, not approved, or differs from what it
  carries, and one that carries no packet when a matching policy rule requires one. The same
  checks run again before every call, so a packet edited after approval stops its actions.

Both read the database only."""

from typing import Any

from approvals.models import ApprovalRequest
from autopack_site.canonical import sha256_of
from autopack_site.models import Project
from ledger.guards import ALLOW, ActionGuard, GuardVerdict, ProposedAction
from policies.compiled import compiled_policy_for
from publishing.conf import is_publishing
from publishing.models import PacketStatus, PublishPacket
from publishing.packets import content_of_packet
from publishing.selectors import engaged_switches, gate_for


# --- emergency switch ---------------------------------------------------------------------------
def _switch_message(switches) -> str:
    parts = []
    for switch in switches:
        where = "installation" if switch.project_id is None else "project"
        parts.append(
            f"the {where}'s emergency switch is engaged (by {switch.engaged_by}: "
            f"{switch.engage_reason})"
        )
    return "; ".join(parts).capitalize() + ". An owner releases it in the admin."


def switch_at_proposal(proposed: ProposedAction) -> GuardVerdict:
    switches = engaged_switches(proposed.project_id)
    if not switches:
        return ALLOW
    return GuardVerdict(needs_approval=("emergency_switch_engaged", _switch_message(switches)))


def switch_at_execution(action) -> GuardVerdict:
    switches = engaged_switches(action.project_id)
    if not switches:
        return ALLOW
    engaged_since = max(s.engaged_at for s in switches if s.engaged_at)
    if action.approval_id:
        decided_at = (
            ApprovalRequest.objects.filter(pk=action.approval_id)
            .values_list("decided_at", flat=True)
            .first()
        )
        if decided_at is not None and decided_at >= engaged_since:
            return ALLOW  # a person approved it while the switch was engaged
    return GuardVerdict(hold=("emergency_switch_engaged", _switch_message(switches)))


# --- packets and provider policy gates ----------------------------------------------------------
_PAYLOAD_CONTENT = {
    # (provider, action) -> how the action's payload shows the packet's fields
    ("youtube", "videos.insert"): lambda p: {
        "title": (p.get("snippet") or {}).get("title"),
        "description": (p.get("snippet") or {}).get("description", ""),
        "tags": (p.get("snippet") or {}).get("tags", []),
    },
    ("etsy", "listings.create_draft"): lambda p: {
        "title": p.get("title"),
        "description": p.get("description"),
        "target": str(p.get("shop_id", "")),
    },
    ("etsy", "listings.update"): lambda p: {
        "title": p.get("title"),
        "description": p.get("description"),
        "target": str(p.get("shop_id", "")),
        **({"tags": p["tags"]} if p.get("tags") is not None else {}),
    },
    ("shopify", "products.create"): lambda p: {
        "title": p.get("title"),
        "description": p.get("body_html", ""),
        "tags": p.get("tags", []),
    },
    ("shopify", "products.update"): lambda p: {
        "title": p.get("title"),
        "description": p.get("body_html", ""),
        **({"tags": p["tags"]} if p.get("tags") is not None else {}),
    },
}


def action_content(provider: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    return _PAYLOAD_CONTENT[provider, action](payload)


def packet_problem(
    project_id: int, provider: str, action: str, payload: dict[str, Any]
) -> tuple[str, str] | None:
    """Why the packet the payload carries does not cover it (reason code, message), or None."""
    ref = payload.get("publish_packet")
    if not isinstance(ref, dict):
        return ("publish_packet_missing", "The action carries no publish packet.")
    packet = PublishPacket.objects.filter(project_id=project_id, pk=ref.get("id")).first()
    if packet is None:
        return ("publish_packet_unknown", f"No publish packet #{ref.get('id')} in this project.")
    if (packet.provider, packet.action) != (provider, action):
        return (
            "publish_packet_mismatch",
            f"Packet #{packet.pk} is for {packet.provider} {packet.action}, not {provider} "
            f"{action}.",
        )
    if packet.status != PacketStatus.APPROVED:
        return (
            "publish_packet_not_approved",
            f"Packet #{packet.pk} is {packet.status}; only an approved packet may be published.",
        )
    if not (
        ref.get("content_hash") == packet.content_hash == packet.approved_hash
        and sha256_of(content_of_packet(packet).canonical()) == packet.approved_hash
    ):
        return (
            "publish_packet_mismatch",
            f"Packet #{packet.pk}'s approved content hash is not the one the action carries.",
        )
    shown = action_content(provider, action, payload)
    reviewed = content_of_packet(packet).canonical()
    differ = sorted(
        name
        for name, value in shown.items()
        if not (name == "target" and not reviewed["target"]) and value != reviewed[name]
    )
    if differ:
        return (
            "publish_packet_mismatch",
            f"The action's {', '.join(differ)} differ from approved packet #{packet.pk}.",
        )
    return None


def _packet_required(project_id: int, provider: str, action: str) -> bool:
    policy = compiled_policy_for(Project(pk=project_id))
    return any(
        getattr(rule, "publish_packet_required", False)
        for rule, _entry, _reason in policy.rules_for(provider, action)
    )


def _compliance(project_id: int, provider: str, action: str, payload: dict) -> GuardVerdict:
    if not is_publishing(provider, action):
        return ALLOW
    gate = gate_for(project=project_id, provider=provider)
    facts: dict[str, Any] = {"provider_policy_fresh": gate.open if gate.configured else None}
    refuse = None
    if payload.get("publish_packet") is not None:
        refuse = packet_problem(project_id, provider, action, payload)
        facts["publish_packet_approved"] = refuse is None
    elif _packet_required(project_id, provider, action):
        refuse = (
            "publish_packet_required",
            "The policy requires an approved publish packet (payload.publish_packet) for "
            f"{provider} {action}.",
        )
    return GuardVerdict(facts=facts, refuse=refuse, hold=gate.reason())


def compliance_at_proposal(proposed: ProposedAction) -> GuardVerdict:
    return _compliance(proposed.project_id, proposed.provider, proposed.action, proposed.payload)


def compliance_at_execution(action) -> GuardVerdict:
    return _compliance(action.project_id, action.provider, action.action, action.payload)


GUARDS = (
    ActionGuard(
        name="emergency-switch",
        provider_glob="*",
        action_glob="*",
        at_proposal=switch_at_proposal,
        at_execution=switch_at_execution,
    ),
    ActionGuard(
        name="publishing-compliance",
        provider_glob="*",
        action_glob="*",
        at_proposal=compliance_at_proposal,
        at_execution=compliance_at_execution,
    ),
)
