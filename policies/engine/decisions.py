"""Pure decisions over a compiled policy: every matched rule, a risk score with its factors,
and a hint of what would change the outcome. Outcome order: deny > require_approval > allow;
no matching rule, or any error while deciding, gives require_approval."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from policies.engine.spec import SEVERITY, CompiledPolicy, Effect, SafetyProfile

# An allowed action whose name says it destroys or spends needs a human on strict projects.
DESTRUCTIVE_WORDS = ("delete", "destroy", "remove", "purge", "cancel", "close", "liquidate")
SIDE_EFFECT_WORDS = ("publish", "insert", "create", "order", "list", "trade", "send", "upload")


@dataclass(frozen=True)
class ActionRequest:
    provider: str
    action: str
    amount: Decimal | None = None
    dry_run_done: bool = False
    publish_packet_approved: bool = False
    provider_policy_fresh: bool | None = None
    now: datetime | None = None
    # Refusals and demands for a human from outside the rules (the ledger's action guards:
    # trading limits, publishing gates, emergency switches), as (reason code, message).
    denials: tuple[tuple[str, str], ...] = ()
    approvals_needed: tuple[tuple[str, str], ...] = ()


@dataclass
class Decision:
    outcome: Effect
    policy_version: int
    reasons: list[dict[str, Any]] = field(default_factory=list)
    matched_rules: list[dict[str, Any]] = field(default_factory=list)
    risk_score: float = 0.0
    risk_factors: list[dict[str, Any]] = field(default_factory=list)
    hint: str = ""
    overridden_rules: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "policy_version": self.policy_version,
            "reasons": self.reasons,
            "matched_rules": self.matched_rules,
            "overridden_rules": self.overridden_rules,
            "risk": {"score": round(self.risk_score, 4), "factors": self.risk_factors},
            "hint": self.hint,
        }


def _unmet_conditions(rule, request: ActionRequest) -> list[str]:
    unmet = []
    if (
        rule.max_amount is not None
        and request.amount is not None
        and request.amount > rule.max_amount
    ):
        unmet.append(f"amount {request.amount} exceeds the rule's maximum {rule.max_amount}")
    if rule.max_amount is not None and request.amount is None:
        unmet.append("the rule caps the amount but the request states none")
    if rule.dry_run_required and not request.dry_run_done:
        unmet.append("a dry run is required first")
    if rule.publish_packet_required and not request.publish_packet_approved:
        unmet.append("an approved publish packet is required")
    if rule.fresh_provider_policy_required and request.provider_policy_fresh is not True:
        unmet.append("the provider's policy must have been checked recently")
    return unmet


def _action_risk(request: ActionRequest, outcome: Effect) -> tuple[float, list[dict]]:
    name = request.action.lower()
    factors = [
        {
            "factor": "destructive",
            "weight": 0.4,
            "value": float(any(w in name for w in DESTRUCTIVE_WORDS)),
        },
        {
            "factor": "side_effect",
            "weight": 0.3,
            "value": float(any(w in name for w in SIDE_EFFECT_WORDS)),
        },
        {"factor": "spends_money", "weight": 0.2, "value": float(bool(request.amount))},
        {"factor": "no_dry_run", "weight": 0.1, "value": float(not request.dry_run_done)},
    ]
    score = sum(f["weight"] * f["value"] for f in factors)
    if outcome is DENY:
        score = max(score, 0.9)
    return min(1.0, score), factors


def decide_action(policy: CompiledPolicy, request: ActionRequest) -> Decision:
    try:
        return _decide_action(policy, request)
    except Exception as exc:  # an error never allows anything
        return Decision(
            outcome=Effect.REQUIRE_APPROVAL,
            policy_version=policy.version,
            reasons=[{"code": "engine_error", "message": f"The policy could not decide: {exc}"}],
            risk_score=1.0,
            hint="Fix the policy; until then a human decides.",
        )


ALLOW, REQUIRE_APPROVAL, DENY = Effect.ALLOW, Effect.REQUIRE_APPROVAL, Effect.DENY
_SEVERITY = {str(effect): rank for effect, rank in SEVERITY.items()}


def _overridden(matched: list[dict[str, Any]], outcome: Effect) -> list[dict[str, Any]]:
    """Matching rules whose (declared) effect lost, each with the rule that beat it: the first
    matching rule that took effect as the outcome (or the guard, when none did)."""
    winner = next((m for m in matched if m["effective"] == str(outcome)), None)
    overridden = []
    for entry in matched:
        if _SEVERITY[entry["effect"]] >= _SEVERITY[str(outcome)] or entry is winner:
            continue
        by = winner["rule"] if winner else "guard"
        by_effect = str(outcome)
        if entry["effective"] == str(outcome):  # its own unmet conditions made it stricter
            continue
        overridden.append(
            {
                "rule": entry["rule"],
                "effect": entry["effect"],
                "beaten_by": by,
                "beaten_by_effect": by_effect,
                "message": f"{entry['rule']} says {entry['effect']}, but {by} says {by_effect} "
                "and the strictest matching rule wins.",
            }
        )
    return overridden


def _decide_action(policy: CompiledPolicy, request: ActionRequest) -> Decision:
    now = request.now
    reasons: list[dict[str, Any]] = []
    matched: list[dict[str, Any]] = []
    worst = -1
    hint = ""
    strict_destructive = policy.spec.safety_profile is SafetyProfile.STRICT and any(
        word in request.action.lower() for word in DESTRUCTIVE_WORDS
    )
    for rule, entry, reason in policy.rules_for(request.provider, request.action):
        if rule.expires_at is not None and now is not None and rule.expires_at <= now:
            continue
        effect = entry["effective"]
        if reason is not None:
            reasons.append(reason)
        else:
            unmet = _unmet_conditions(rule, request) if rule.has_conditions else None
            if unmet:
                effect = "require_approval"
                entry = {**entry, "effective": effect, "unmet_conditions": unmet}
                reasons.append(
                    {"code": "condition_unmet", "rule": rule.rule_id, "message": "; ".join(unmet)}
                )
                hint = hint or f"Satisfy {rule.rule_id}: {'; '.join(unmet)}."
            elif strict_destructive:
                effect = "require_approval"
                entry = {**entry, "effective": effect}
                reasons.append(
                    {
                        "code": "strict_destructive",
                        "rule": rule.rule_id,
                        "message": "The strict profile sends destructive actions to a human.",
                    }
                )
        matched.append(entry)
        rank = _SEVERITY[effect]
        if rank > worst:
            worst = rank
    if worst < 0:
        outcome = REQUIRE_APPROVAL
        reasons.append(
            {
                "code": "no_rule_matched",
                "message": f"No rule covers {request.provider}/{request.action}.",
            }
        )
        hint = f"Add an action rule for {request.provider}/{request.action} to decide it."
    else:
        outcome = (ALLOW, REQUIRE_APPROVAL, DENY)[worst]
    for code, message in request.approvals_needed:
        reasons.append({"code": code, "message": message, "source": "guard"})
        if outcome is ALLOW:
            outcome = REQUIRE_APPROVAL
            hint = message
    for code, message in request.denials:
        reasons.append({"code": code, "message": message, "source": "guard"})
        outcome = DENY
    if outcome is ALLOW:
        reasons.append({"code": "rule_allow", "message": "Every matching rule allows it."})
    elif outcome is DENY:
        hint = (
            request.denials[0][1]
            if request.denials
            else "A deny rule matches; only a policy editor can change that."
        )
    elif not hint:
        hint = "A rule requires approval; an operator must approve this exact payload."
    score, factors = _action_risk(request, outcome)
    return Decision(
        overridden_rules=_overridden(matched, outcome),
        outcome=outcome,
        policy_version=policy.version,
        reasons=reasons,
        matched_rules=matched,
        risk_score=score,
        risk_factors=factors,
        hint=hint,
    )
