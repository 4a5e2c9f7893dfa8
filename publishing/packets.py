"""Publish packets: what an agent means to publish, checked (preflight flags), hashed over its
canonical content, and reviewed by a person (approval kind ``publish_packet``) before any
publishing action may reference it. A packet with a blocking flag gets no approval request: it
cannot be approved until it is edited. Editing a packet (any status but cancelled) recomputes its
hash and flags and asks again, so an approval never covers content it did not see."""

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from approvals.consumers import ApprovalNews
from approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from approvals.services import approval_cancel, approval_request_create
from autopack_site.canonical import sha256_of
from autopack_site.errors import Unprocessable
from autopack_site.models import AgentKey, Project
from publishing.conf import AI_DISCLOSURE_REQUIRED, DEFAULT_AI_DISCLOSURES, is_publishing
from publishing.models import PacketStatus, PublishPacket, PublishTermList, TermKind
from publishing.selectors import gate_for
from publishing.transitions import PACKET


@dataclass(frozen=True)
class PacketContent:
    provider: str
    action: str
    title: str
    description: str
    tags: list[str]
    media: list[dict[str, Any]]
    ai_generated: bool
    target: str

    def canonical(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "action": self.action,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "media": [dict(m) for m in self.media],
            "ai_generated": self.ai_generated,
            "target": self.target,
        }

    def content_hash(self) -> str:
        return sha256_of(self.canonical())


def content_of_packet(packet: PublishPacket) -> PacketContent:
    return PacketContent(
        provider=packet.provider,
        action=packet.action,
        title=packet.title,
        description=packet.description,
        tags=list(packet.tags),
        media=list(packet.media),
        ai_generated=packet.ai_generated,
        target=packet.target,
    )


# --- preflight ----------------------------------------------------------------------------------
def _terms(project: Project, provider: str, kind: str) -> list[str]:
    terms: list[str] = []
    for term_list in PublishTermList.objects.filter(project=project, kind=kind, enabled=True):
        if term_list.provider in ("", provider):
            terms.extend(term_list.term_list())
    return terms


def _mentions(text: str, term: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term.lower())}(?!\w)", text) is not None


def preflight(project: Project, content: PacketContent) -> list[dict[str, Any]]:
    """Flags, each {code, severity: warning|blocking, message, term?}."""
    text = "\n".join([content.title, content.description, *content.tags]).lower()
    flags: list[dict[str, Any]] = []
    for term in _terms(project, content.provider, TermKind.TRADEMARK):
        if _mentions(text, term):
            flags.append(
                {
                    "code": "trademark_term",
                    "severity": "warning",
                    "term": term,
                    "message": f"Mentions the trademark {term!r}: check the right to use it.",
                }
            )
    for term in _terms(project, content.provider, TermKind.BANNED):
        if _mentions(text, term):
            flags.append(
                {
                    "code": "banned_content",
                    "severity": "blocking",
                    "term": term,
                    "message": f"Contains {term!r}, which this project does not publish.",
                }
            )
    if content.ai_generated and content.provider in AI_DISCLOSURE_REQUIRED:
        disclosures = _terms(project, content.provider, TermKind.AI_DISCLOSURE) or list(
            DEFAULT_AI_DISCLOSURES
        )
        if not any(d.lower() in content.description.lower() for d in disclosures):
            flags.append(
                {
                    "code": "ai_disclosure_missing",
                    "severity": "blocking",
                    "message": (
                        f"{content.provider} requires AI-generated content to be disclosed; the "
                        f"description has none of: {', '.join(disclosures)}."
                    ),
                }
            )
    return flags


def snapshots_in_force(project: Project, provider: str) -> list[dict[str, Any]]:
    gate = gate_for(project=project, provider=provider)
    return [
        {
            "source": s.id,
            "name": s.name,
            "state": s.state,
            "snapshot": s.snapshot,
            "content_hash": s.snapshot_hash,
        }
        for s in gate.sources
        if s.enabled
    ]


# --- writes -------------------------------------------------------------------------------------
def _check_action(content: PacketContent) -> None:
    if not is_publishing(content.provider, content.action):
        raise Unprocessable(
            f"{content.provider} {content.action!r} is not a publishing action.",
            code="not_a_publishing_action",
            details={"fields": [{"path": "action", "message": "not a publishing action"}]},
        )


def _ask(packet: PublishPacket, *, key: AgentKey | None) -> None:
    packet.approval = approval_request_create(
        project=packet.project,
        kind=ApprovalKind.PUBLISH_PACKET,
        subject=f"publish_packet:{packet.pk}",
        target_id=packet.pk,
        title=f"Publish on {packet.provider}: {packet.title}"[:300],
        summary="; ".join(flag["message"] for flag in packet.flags)[:2000],
        payload=content_of_packet(packet).canonical(),
        explanation={"flags": packet.flags, "policy_snapshots": packet.policy_snapshots},
        requested_by_key=key,
    )
    packet.save(update_fields=["approval"])


def _fill(packet: PublishPacket, content: PacketContent, project: Project) -> str:
    for name, value in content.canonical().items():
        setattr(packet, name, value)
    packet.flags = preflight(project, content)
    packet.policy_snapshots = snapshots_in_force(project, content.provider)
    packet.content_hash = content.content_hash()
    return PacketStatus.BLOCKED if packet.blocking else PacketStatus.PENDING_APPROVAL


def packet_create(*, project: Project, key: AgentKey, content: PacketContent) -> PublishPacket:
    _check_action(content)
    packet = PublishPacket(project=project, requested_by_key=key)
    status = _fill(packet, content, project)
    with transaction.atomic():
        PACKET.create(
            packet,
            status=status,
            actor=key.actor_label,
            reason="blocked by its preflight" if status == PacketStatus.BLOCKED else "submitted",
            detail={"content_hash": packet.content_hash},
        )
        if status == PacketStatus.PENDING_APPROVAL:
            _ask(packet, key=key)
    return packet


def packet_edit(*, packet_id: int, project: Project, key: AgentKey, content: PacketContent):
    """New content replaces the old; the packet asks for approval again (or is blocked). Any
    approval of the old content stops counting: actions bound to it are refused."""
    _check_action(content)
    with transaction.atomic():
        packet = PACKET.lock(packet_id, queryset=PublishPacket.objects.filter(project=project))
        if packet.status == PacketStatus.CANCELLED:
            raise Unprocessable("A cancelled packet cannot be edited.", code="packet_cancelled")
        old_hash = packet.content_hash
        status = _fill(packet, content, project)
        packet.revision += 1
        PACKET.move(
            packet,
            status,
            actor=key.actor_label,
            reason="edited",
            detail={"from_hash": old_hash, "content_hash": packet.content_hash},
            approved_hash="",
            revision=packet.revision,
            **{f: getattr(packet, f) for f in _CONTENT_FIELDS},
        )
        if status == PacketStatus.PENDING_APPROVAL:
            _ask(packet, key=key)
        elif packet.approval_id:
            _cancel_pending_request(packet)
    return packet


_CONTENT_FIELDS = (
    "provider",
    "action",
    "title",
    "description",
    "tags",
    "media",
    "ai_generated",
    "target",
    "flags",
    "policy_snapshots",
    "content_hash",
)


def _cancel_pending_request(packet: PublishPacket) -> None:
    request_id = packet.approval_id
    if request_id is None:
        return
    if ApprovalRequest.objects.filter(pk=request_id, status=ApprovalStatus.PENDING).exists():
        approval_cancel(request_id=request_id, actor="system", reason="packet edited")


# --- the approval consumer ----------------------------------------------------------------------
_TO: dict[str, str] = {
    ApprovalStatus.APPROVED: PacketStatus.APPROVED,
    ApprovalStatus.REJECTED: PacketStatus.REJECTED,
    ApprovalStatus.EXPIRED: PacketStatus.EXPIRED,
    ApprovalStatus.CANCELLED: PacketStatus.EXPIRED,
}


def packet_follow_approval(news: ApprovalNews) -> None:
    """Idempotent: the packet must still wait on this very request, with the content the request
    showed (its hash). A packet that gained a blocking flag is never approved."""
    if news.target_id is None or news.status not in _TO:
        return
    with transaction.atomic():
        try:
            packet = PACKET.lock(news.target_id)
        except PublishPacket.DoesNotExist:
            return
        if packet.approval_id != news.request_id or packet.status != PacketStatus.PENDING_APPROVAL:
            return
        seen = ApprovalRequest.objects.get(pk=news.request_id).payload_hash
        to_status = _TO[news.status]
        if to_status == PacketStatus.APPROVED and (packet.blocking or seen != packet.content_hash):
            PACKET.move(
                packet,
                PacketStatus.BLOCKED,
                actor=f"approval:{news.request_id}",
                reason="approved content no longer matches, or a blocking flag",
            )
            return
        PACKET.move(
            packet,
            to_status,
            actor=f"approval:{news.request_id}",
            detail={"approval": news.status},
            approved_hash=packet.content_hash if to_status == PacketStatus.APPROVED else "",
        )


def packets_waiting_on_decided_approvals(limit: int):
    rows = PublishPacket.objects.filter(
        status=PacketStatus.PENDING_APPROVAL, approval__status__in=list(_TO)
    ).values_list("pk", "approval_id", "approval__status")[:limit]
    for packet_id, request_id, status in rows:
        yield ApprovalNews(
            request_id=request_id,
            kind=ApprovalKind.PUBLISH_PACKET,
            target_id=packet_id,
            status=status,
        )
