"""A policy as plain data (PolicySpec) and compiled for fast decisions (CompiledPolicy).

Compiling validates every pattern and glob and builds the matchers once per policy version.
"""

import enum
import fnmatch
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from policies.engine.paths import CompiledPathRules, InvalidPatternError


class Effect(enum.StrEnum):
    ALLOW = "allow"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"


# deny > require_approval > allow
SEVERITY = {Effect.ALLOW: 0, Effect.REQUIRE_APPROVAL: 1, Effect.DENY: 2}


class SafetyProfile(enum.StrEnum):
    STRICT = "strict"
    NORMAL = "normal"


class PolicyValidationError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ActionRule:
    rule_id: str
    provider_glob: str
    action_glob: str
    effect: Effect
    priority: int = 0
    max_amount: Decimal | None = None
    dry_run_required: bool = False
    publish_packet_required: bool = False
    fresh_provider_policy_required: bool = False
    expires_at: datetime | None = None
    description: str = ""

    def as_dict(self) -> dict:
        return {
            "rule": self.rule_id,
            "provider": self.provider_glob,
            "action": self.action_glob,
            "effect": str(self.effect),
            "priority": self.priority,
            "description": self.description,
        }

    @property
    def has_conditions(self) -> bool:
        return (
            self.max_amount is not None
            or self.dry_run_required
            or self.publish_packet_required
            or self.fresh_provider_policy_required
        )


@dataclass(frozen=True)
class PolicySpec:
    version: int
    safety_profile: SafetyProfile = SafetyProfile.STRICT
    action_rules: tuple[ActionRule, ...] = ()
    protected_paths: tuple[str, ...] = ()
    denied_paths: tuple[str, ...] = ()
    auto_approvable_paths: tuple[str, ...] = ()
    case_insensitive_paths: bool = True
    max_auto_approve_lines: int = 200
    max_auto_approve_risk: float = 0.3
    first_run_requires_approval: bool = True


_GLOB_CHARS = re.compile(r"^[A-Za-z0-9_.*?\-\[\]:/]+$")
_MATCH_CACHE_SIZE = 4096


@dataclass
class CompiledPolicy:
    spec: PolicySpec
    protected: CompiledPathRules
    denied: CompiledPathRules
    auto_approvable: CompiledPathRules
    # (provider regex, action regex, rule), highest priority first
    _rules: tuple[tuple[re.Pattern[str], re.Pattern[str], ActionRule], ...] = ()
    _matches: dict[tuple[str, str], tuple[tuple[ActionRule, dict, dict | None], ...]] = field(
        default_factory=dict
    )

    @property
    def version(self) -> int:
        return self.spec.version

    def rules_for(
        self, provider: str, action: str
    ) -> tuple[tuple[ActionRule, dict, dict | None], ...]:
        """Rules whose globs match, memoised per (provider, action): glob matching is done
        once per pair and policy version, so a decision costs a dict lookup plus conditions.
        Each rule comes with its explanation entry and (for deny / require_approval) its reason,
        built once and shared: copy them before changing them."""
        key = (provider, action)
        found = self._matches.get(key)
        if found is None:
            found = tuple(
                (rule, *_explained(rule))
                for provider_re, action_re, rule in self._rules
                if provider_re.match(provider) and action_re.match(action)
            )
            if len(self._matches) >= _MATCH_CACHE_SIZE:
                self._matches.clear()
            self._matches[key] = found
        return found


def _explained(rule: ActionRule) -> tuple[dict, dict | None]:
    entry = {**rule.as_dict(), "effective": str(rule.effect)}
    if rule.effect is Effect.ALLOW:
        return entry, None
    reason = {
        "code": f"rule_{rule.effect}",
        "rule": rule.rule_id,
        "message": rule.description or f"{rule.rule_id} says {rule.effect}.",
    }
    return entry, reason


def _glob_regex(glob: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(glob))


def compile_policy(spec: PolicySpec) -> CompiledPolicy:
    errors: list[str] = []
    compiled_paths = {}
    for name in ("protected", "denied", "auto_approvable"):
        try:
            compiled_paths[name] = CompiledPathRules.build(
                getattr(spec, f"{name}_paths"), case_insensitive=spec.case_insensitive_paths
            )
        except InvalidPatternError as exc:
            errors.append(f"path_rules.{name}: {exc}")
    rules = []
    for rule in spec.action_rules:
        for what, glob in (("provider", rule.provider_glob), ("action", rule.action_glob)):
            if not glob or not _GLOB_CHARS.match(glob):
                errors.append(f"{rule.rule_id}: invalid {what} glob {glob!r}")
        if rule.effect not in SEVERITY:
            errors.append(f"{rule.rule_id}: unknown effect {rule.effect!r}")
    if errors:
        raise PolicyValidationError(errors)
    ordered = sorted(enumerate(spec.action_rules), key=lambda pair: (-pair[1].priority, pair[0]))
    rules = tuple(
        (_glob_regex(rule.provider_glob), _glob_regex(rule.action_glob), rule)
        for _index, rule in ordered
    )
    return CompiledPolicy(spec=spec, _rules=rules, **compiled_paths)
