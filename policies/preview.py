"""Replay a project's recent logged decisions under a draft policy, before anyone saves it."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from autopack_site.models import Project
from policies.engine import (
    ActionRequest,
    ChangedFile,
    ParsedPatch,
    compile_policy,
    decide_action,
    decide_patch,
)
from policies.models import DecisionKind
from policies.selectors import recent_decisions
from policies.snapshots import spec_from_snapshot

PREVIEW_DEFAULT_LIMIT = 200
PREVIEW_MAX_LIMIT = 5000


def _action_request(question: dict[str, Any]) -> ActionRequest:
    amount = question.get("amount")
    return ActionRequest(
        provider=question["provider"],
        action=question["action"],
        amount=Decimal(str(amount)) if amount not in (None, "") else None,
        dry_run_done=bool(question.get("dry_run_done")),
        publish_packet_approved=bool(question.get("publish_packet_approved")),
        provider_policy_fresh=question.get("provider_policy_fresh"),
        now=timezone.now(),
    )


def _parsed_patch(question: dict[str, Any]) -> ParsedPatch:
    files = tuple(
        ChangedFile(
            path=f["path"],
            old_path=f.get("old_path"),
            change=f["change"],
            binary=bool(f.get("binary")),
            mode_change=f.get("mode_change"),
            lines_added=int(f.get("lines_added", 0)),
            lines_removed=int(f.get("lines_removed", 0)),
        )
        for f in question["files"]
    )
    return ParsedPatch(
        sha256=question.get("diff_sha256", ""),
        files=files,
        lines_added=sum(f.lines_added for f in files),
        lines_removed=sum(f.lines_removed for f in files),
    )


def _summary(kind: str, question: dict[str, Any]) -> str:
    if kind == DecisionKind.ACTION:
        amount = question.get("amount")
        return f"{question.get('provider')}/{question.get('action')}" + (
            f" amount={amount}" if amount is not None else ""
        )
    files = question.get("files", [])
    first = files[0]["path"] if files else ""
    return f"patch: {len(files)} file(s), e.g. {first}"


def policy_preview(
    *, project: Project, draft: dict[str, Any], limit: int = PREVIEW_DEFAULT_LIMIT
) -> dict[str, Any]:
    """{replayed, changed: [{created_at, kind, summary, old_outcome, new_outcome}], skipped}."""
    limit = max(1, min(int(limit), PREVIEW_MAX_LIMIT))
    policy = compile_policy(spec_from_snapshot(draft, version=0))
    replayed, skipped, changed = 0, 0, []
    for row in recent_decisions(project=project, limit=limit):
        question = row.input_redacted
        try:
            if row.kind == DecisionKind.ACTION:
                outcome = decide_action(policy, _action_request(question)).outcome.value
            else:
                parsed = _parsed_patch(question)
                outcome = decide_patch(
                    policy, parsed, first_run=bool(question.get("first_run"))
                ).outcome.value
        except (KeyError, TypeError, ValueError, InvalidOperation):
            skipped += 1
            continue
        replayed += 1
        if outcome != row.outcome:
            changed.append(
                {
                    "created_at": row.created_at,
                    "kind": row.kind,
                    "summary": _summary(row.kind, question),
                    "old_outcome": row.outcome,
                    "new_outcome": outcome,
                }
            )
    return {"replayed": replayed, "changed": changed, "skipped": skipped}
