"""What an inbox item does, in one line, and what its target became: filled in by the app that
asked (registered from its admin module), so approvals knows none of them.

A describer gets a page of requests of its kind and answers for all of them with a bounded number
of queries (one per page, not one per row): the inbox and the item page call it the same way.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from approvals.models import ApprovalRequest

# side-effect classes, strongest first: what the operator must know before approving
SPENDS_MONEY = "spends money"
PUBLISHES = "publishes"
IRREVERSIBLE = "irreversible"
REVERSIBLE = "reversible"
NO_SIDE_EFFECT = "no side effect"


@dataclass
class Outcome:
    """What happened to the target after the decision (the execution, for an action)."""

    status: str
    reference: str = ""
    error: str = ""
    url: str = ""
    finished: bool = False


@dataclass
class InboxLine:
    what: str  # one line: "webhook send → https://… (order.created)", "3 files, 1 protected"
    target_label: str = ""
    target_url: str = ""
    run_label: str = ""
    run_url: str = ""
    phase: str = ""
    effect_class: str = ""
    after_approve: str = ""  # one sentence: what happens when an operator approves
    after_reject: str = ""
    outcome: Outcome | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)  # extra label/value pairs


Describer = Callable[[list[ApprovalRequest]], dict[int, InboxLine]]
_describers: dict[str, Describer] = {}


def register_inbox_describer(kind: str, describer: Describer) -> None:
    _describers[kind] = describer


def effect_class_of(side_effects: Iterable[dict[str, Any]]) -> str:
    effects = [e for e in side_effects or [] if isinstance(e, dict)]
    if not effects:
        return NO_SIDE_EFFECT
    if any(e.get("estimated_cost") not in (None, "", "0", 0) for e in effects):
        return SPENDS_MONEY
    if any(e.get("type") in ("publish", "trade") for e in effects):
        return PUBLISHES if all(e.get("type") == "publish" for e in effects) else SPENDS_MONEY
    if any(e.get("reversible") is False for e in effects):
        return IRREVERSIBLE
    return REVERSIBLE


def _fallback(request: ApprovalRequest) -> InboxLine:
    return InboxLine(
        what=request.title,
        after_approve=(
            "The agent that asked is told it was approved (callback or polling) and may go on "
            "with exactly this payload."
        ),
        after_reject="The agent that asked is told it was rejected, with your reason.",
    )


def describe(requests: list[ApprovalRequest]) -> dict[int, InboxLine]:
    """One line per request (by id), each kind asked once for the whole list."""
    by_kind: dict[str, list[ApprovalRequest]] = {}
    for request in requests:
        by_kind.setdefault(request.kind, []).append(request)
    lines: dict[int, InboxLine] = {}
    for kind, group in by_kind.items():
        describer = _describers.get(kind)
        found = describer(group) if describer else {}
        for request in group:
            lines[request.pk] = found.get(request.pk) or _fallback(request)
    return lines


# --- "which requests are about run N": each kind answers for its targets ------------------------
RunQ = Callable[[int], Q]
RunChoices = Callable[[Any], list[tuple[str, str]]]
_run_filters: dict[str, RunQ] = {}
_run_choices: list[RunChoices] = []


def register_run_filter(kind: str, about_run: RunQ) -> None:
    """``about_run(run_id)``: a Q over ApprovalRequest selecting this kind's requests whose
    target belongs to the run (a subquery, never a list of ids)."""
    _run_filters[kind] = about_run


def register_run_choices(choices: RunChoices) -> None:
    """``choices(http_request)``: (run id, label) pairs offered by the inbox's run filter."""
    if choices not in _run_choices:
        _run_choices.append(choices)


def requests_about_run(run_id: int) -> Q:
    found = Q(pk__in=[])
    for about_run in _run_filters.values():
        found |= about_run(run_id)
    return found


def run_choices(http_request) -> list[tuple[str, str]]:
    return [choice for choices in _run_choices for choice in choices(http_request)]
