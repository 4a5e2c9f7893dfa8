"""Policy rows ⇄ snapshot (plain data) ⇄ engine spec, and the diff between two snapshots."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from policies.engine import ActionRule, Effect, PolicySpec, SafetyProfile
from policies.models import GovernancePolicy, PathCategory
from policies.schemas import PolicySnapshot

SETTING_FIELDS = (
    "safety_profile",
    "case_insensitive_paths",
    "max_auto_approve_lines",
    "max_auto_approve_risk",
    "first_run_requires_approval",
    "required_approvals",
    "pending_window_hours",
    "validity_window_hours",
)
RULE_FIELDS = (
    "provider_glob",
    "action_glob",
    "effect",
    "priority",
    "max_amount",
    "dry_run_required",
    "publish_packet_required",
    "fresh_provider_policy_required",
    "expires_at",
    "description",
)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def snapshot_of(policy: GovernancePolicy) -> dict[str, Any]:
    """The policy as it is in the database, as JSON-ready data (rules in a stable order)."""
    path_rules: dict[str, list[str]] = {category: [] for category in PathCategory.values}
    for rule in policy.path_rules.order_by("category", "pattern"):
        path_rules[rule.category].append(rule.pattern)
    return {
        **{field: getattr(policy, field) for field in SETTING_FIELDS},
        "path_rules": path_rules,
        "action_rules": [
            {
                **({"id": rule.rule_key} if rule.rule_key else {}),
                **{field: _json_value(getattr(rule, field)) for field in RULE_FIELDS},
            }
            for rule in policy.action_rules.order_by("-priority", "id")
        ],
    }


def spec_from_snapshot(snapshot: dict[str, Any] | PolicySnapshot, *, version: int) -> PolicySpec:
    data = (
        snapshot
        if isinstance(snapshot, PolicySnapshot)
        else PolicySnapshot.model_validate(snapshot)
    )
    return PolicySpec(
        version=version,
        safety_profile=SafetyProfile(data.safety_profile),
        action_rules=tuple(
            ActionRule(
                rule_id=rule.id or f"new-{index + 1}",
                provider_glob=rule.provider_glob,
                action_glob=rule.action_glob,
                effect=Effect(rule.effect),
                priority=rule.priority,
                max_amount=rule.max_amount,
                dry_run_required=rule.dry_run_required,
                publish_packet_required=rule.publish_packet_required,
                fresh_provider_policy_required=rule.fresh_provider_policy_required,
                expires_at=rule.expires_at,
                description=rule.description,
            )
            for index, rule in enumerate(data.action_rules)
        ),
        protected_paths=tuple(data.path_rules.protected),
        denied_paths=tuple(data.path_rules.denied),
        auto_approvable_paths=tuple(data.path_rules.auto_approvable),
        case_insensitive_paths=data.case_insensitive_paths,
        max_auto_approve_lines=data.max_auto_approve_lines,
        max_auto_approve_risk=data.max_auto_approve_risk,
        first_run_requires_approval=data.first_run_requires_approval,
    )


def snapshot_from_spec(spec: PolicySpec, **settings_overrides: Any) -> dict[str, Any]:
    """A template's spec as a snapshot (for seeding a project's policy)."""
    snapshot = PolicySnapshot(
        safety_profile=spec.safety_profile.value,
        case_insensitive_paths=spec.case_insensitive_paths,
        max_auto_approve_lines=spec.max_auto_approve_lines,
        max_auto_approve_risk=spec.max_auto_approve_risk,
        first_run_requires_approval=spec.first_run_requires_approval,
        path_rules={
            "protected": list(spec.protected_paths),
            "denied": list(spec.denied_paths),
            "auto_approvable": list(spec.auto_approvable_paths),
        },
        action_rules=[
            {
                "provider_glob": rule.provider_glob,
                "action_glob": rule.action_glob,
                "effect": rule.effect.value,
                "priority": rule.priority,
                "max_amount": rule.max_amount,
                "dry_run_required": rule.dry_run_required,
                "publish_packet_required": rule.publish_packet_required,
                "fresh_provider_policy_required": rule.fresh_provider_policy_required,
                "expires_at": rule.expires_at,
                "description": rule.description,
            }
            for rule in spec.action_rules
        ],
        **settings_overrides,
    )
    return snapshot.model_dump(mode="json")


def snapshot_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """Human-readable changes: settings changed, path patterns and action rules added/removed."""
    old = old or {}
    changes: list[dict[str, Any]] = []
    for field in SETTING_FIELDS:
        if old.get(field) != new.get(field):
            changes.append(
                {"change": "setting", "field": field, "from": old.get(field), "to": new.get(field)}
            )
    for category in PathCategory.values:
        before = set((old.get("path_rules") or {}).get(category, []))
        after = set(new["path_rules"].get(category, []))
        changes += [
            {"change": "path_added", "category": category, "pattern": p}
            for p in sorted(after - before)
        ]
        changes += [
            {"change": "path_removed", "category": category, "pattern": p}
            for p in sorted(before - after)
        ]

    def rule_key(rule: dict[str, Any]) -> str:
        # by stable id when both sides have one (an edited rule is "changed", not -/+)
        return rule.get("id") or repr(sorted(rule.items()))

    before_rules = {rule_key(r): r for r in old.get("action_rules", [])}
    after_rules = {rule_key(r): r for r in new["action_rules"]}
    for k in [k for k in after_rules if k in before_rules]:
        before, after = before_rules[k], after_rules[k]
        fields = {
            f: [before.get(f), after.get(f)] for f in RULE_FIELDS if before.get(f) != after.get(f)
        }
        if fields:
            changes.append({"change": "rule_changed", "rule": after, "fields": fields})
    changes += [
        {"change": "rule_added", "rule": after_rules[k]}
        for k in after_rules
        if k not in before_rules
    ]
    changes += [
        {"change": "rule_removed", "rule": before_rules[k]}
        for k in before_rules
        if k not in after_rules
    ]
    return changes
