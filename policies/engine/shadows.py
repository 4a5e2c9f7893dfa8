"""Rules that can never take effect: every matching rule applies and the strictest effect wins
(deny > require_approval > allow), so a rule is shadowed when another rule that always applies
wherever it does has a stricter effect. Priority does not change that: it only orders the
listing and the explanation.

Coverage of globs is decided conservatively (a warning must never be wrong): ``*`` covers
everything, equal globs cover each other, and a glob using only ``*`` covers a glob whose every
expansion it matches (checked by matching the narrower glob's text); anything with ``[...]``
counts only when equal. A rule that expires, or that is itself conditional in a way that can
relax it, is never counted as the shadowing one."""

import fnmatch
from dataclasses import dataclass

from policies.engine.spec import SEVERITY, ActionRule, PolicySpec


@dataclass(frozen=True)
class Shadow:
    rule: str
    effect: str
    by: str
    by_effect: str
    message: str

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "effect": self.effect,
            "beaten_by": self.by,
            "beaten_by_effect": self.by_effect,
            "message": self.message,
        }


def glob_covers(wide: str, narrow: str) -> bool:
    """Whether every name ``narrow`` matches is matched by ``wide``."""
    if wide == narrow or wide == "*":
        return True
    if "[" in wide or "[" in narrow or "?" in wide:
        return False
    return fnmatch.fnmatchcase(narrow, wide)


def _always_applies_at_least(rule: ActionRule) -> bool:
    """A rule whose effect holds whenever it matches: no expiry (conditions only make a rule
    stricter, so they do not weaken it)."""
    return rule.expires_at is None


def shadowed_rules(spec: PolicySpec) -> list[Shadow]:
    shadows = []
    for rule in spec.action_rules:
        for other in spec.action_rules:
            if other is rule or not _always_applies_at_least(other):
                continue
            if SEVERITY[other.effect] <= SEVERITY[rule.effect]:
                continue
            if glob_covers(other.provider_glob, rule.provider_glob) and glob_covers(
                other.action_glob, rule.action_glob
            ):
                shadows.append(
                    Shadow(
                        rule=rule.rule_id,
                        effect=str(rule.effect),
                        by=other.rule_id,
                        by_effect=str(other.effect),
                        message=(
                            f"{rule.rule_id} ({rule.provider_glob}/{rule.action_glob} → "
                            f"{rule.effect}) can never take effect: {other.rule_id} "
                            f"({other.provider_glob}/{other.action_glob} → {other.effect}) "
                            f"matches everything it matches and the stricter effect wins, "
                            f"whatever the priorities. Narrow {other.rule_id} or remove one."
                        ),
                    )
                )
                break
    return shadows
