"""Checks other apps put in front of the ledger's actions, registered here by name.

The ledger knows no app above it (trading, publishing compliance, emergency switches): each
registers an `ActionGuard` in its AppConfig.ready() for the provider/action globs it cares about.
A guard answers twice, with a `GuardVerdict`:

- at proposal (``at_proposal``): facts for the policy decision (e.g. "publish packet approved"),
  a refusal (the action is denied with the guard's reason code), a demand for a human
  (``needs_approval``: the decision becomes require_approval at least), or a hold (an allowed
  action waits, held, until the guard lets it go);
- before every execution (``at_execution``, after the claim, before the call): a refusal (the
  action fails with the reason code) or a hold (the action is held with the reason).

Held actions whose hold came from a guard are re-examined by `actions_release_guarded` (a
schedule): when no guard holds them any more they go back to the queue by themselves.
Guards must not touch the network; they read the database only.
"""

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GuardVerdict:
    facts: dict[str, Any] = field(default_factory=dict)
    refuse: tuple[str, str] | None = None  # (reason code, message)
    hold: tuple[str, str] | None = None  # (reason code, message)
    needs_approval: tuple[str, str] | None = None  # (reason code, message)


ALLOW = GuardVerdict()


@dataclass(frozen=True)
class ProposedAction:
    """What a guard sees of a proposal before anything is written."""

    project_id: int
    provider: str
    action: str
    payload: dict[str, Any]
    requested_by_key_id: int | None


@dataclass(frozen=True)
class ActionGuard:
    name: str
    provider_glob: str
    action_glob: str
    at_proposal: Callable[[ProposedAction], GuardVerdict]
    # Receives the ExternalAction row (claimed, about to be called).
    at_execution: Callable[[Any], GuardVerdict]
    # Optional: the id of the credential this action must be called (and looked up) with,
    # instead of the project's active one of the ledger's environment (e.g. a trading account's
    # own paper or live credential). Reads the database only; None: no opinion.
    credential_for: Callable[[Any], int | None] | None = None

    def covers(self, provider: str, action: str) -> bool:
        return fnmatch.fnmatchcase(provider, self.provider_glob) and fnmatch.fnmatchcase(
            action, self.action_glob
        )


_guards: dict[str, ActionGuard] = {}


def register_guard(guard: ActionGuard) -> None:
    existing = _guards.get(guard.name)
    if existing is not None and existing != guard:
        raise ValueError(f"an action guard named {guard.name!r} is already registered")
    _guards[guard.name] = guard


def guards_for(provider: str, action: str) -> list[ActionGuard]:
    return [guard for guard in _guards.values() if guard.covers(provider, action)]


@dataclass(frozen=True)
class CombinedVerdict:
    """Every guard's answer, combined: the first refusal wins, then the first hold; facts are
    merged; every demand for a human is kept for the explanation."""

    facts: dict[str, Any]
    refuse: tuple[str, str] | None
    hold: tuple[str, str] | None
    needs_approval: list[tuple[str, str]]


def _combine(verdicts: list[GuardVerdict]) -> CombinedVerdict:
    facts: dict[str, Any] = {}
    for verdict in verdicts:
        facts.update(verdict.facts)
    return CombinedVerdict(
        facts=facts,
        refuse=next((v.refuse for v in verdicts if v.refuse), None),
        hold=next((v.hold for v in verdicts if v.hold), None),
        needs_approval=[v.needs_approval for v in verdicts if v.needs_approval],
    )


def verdict_at_proposal(proposed: ProposedAction) -> CombinedVerdict:
    return _combine(
        [guard.at_proposal(proposed) for guard in guards_for(proposed.provider, proposed.action)]
    )


def credential_override(action) -> int | None:
    """The credential a guard names for ``action`` (the first that names one), or None."""
    for guard in guards_for(action.provider, action.action):
        if guard.credential_for is not None:
            credential_id = guard.credential_for(action)
            if credential_id is not None:
                return credential_id
    return None


def verdict_at_execution(action) -> CombinedVerdict:
    return _combine(
        [guard.at_execution(action) for guard in guards_for(action.provider, action.action)]
    )
