"""Patch governance: which files a diff touches, under which path rules, and how risky it is.

Risk = 0.3 scope + 0.4 protected + 0.2 category + 0.1 cross-cutting (each factor in 0..1).
"""

from dataclasses import dataclass, field
from typing import Any

from policies.engine.decisions import Decision
from policies.engine.patches import ChangedFile, ParsedPatch
from policies.engine.spec import CompiledPolicy, Effect, SafetyProfile

WEIGHTS = {"scope": 0.3, "protected": 0.4, "category": 0.2, "cross_cutting": 0.1}

_CONFIG_NAMES = (
    "dockerfile",
    "makefile",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "package.json",
)
_CONFIG_SUFFIXES = (".toml", ".cfg", ".ini", ".yml", ".yaml", ".lock", ".env", ".sh")
_DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc")


def file_category(path: str) -> tuple[str, float]:
    """(category, sensitivity): config and CI weigh most, docs least."""
    lowered = path.lower()
    name = lowered.rsplit("/", 1)[-1]
    if (
        lowered.startswith((".github/", ".ci/", "config/"))
        or "/migrations/" in lowered
        or name in _CONFIG_NAMES
        or name.startswith("requirements")
        or name.endswith(_CONFIG_SUFFIXES)
    ):
        return "config", 1.0
    if lowered.startswith(("tests/", "test/")) or "/tests/" in lowered or name.startswith("test_"):
        return "tests", 0.25
    if lowered.startswith("docs/") or name.endswith(_DOC_SUFFIXES):
        return "docs", 0.1
    return "source", 0.5


@dataclass
class PatchDecision(Decision):
    files: list[dict[str, Any]] = field(default_factory=list)
    lines_changed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "files": self.files, "lines_changed": self.lines_changed}


def _file_entry(policy: CompiledPolicy, changed: ChangedFile) -> dict[str, Any]:
    matches = []
    for category, rules in (
        ("denied", policy.denied),
        ("protected", policy.protected),
        ("auto_approvable", policy.auto_approvable),
    ):
        for path in filter(None, (changed.path, changed.old_path)):
            pattern = rules.first_match(path)
            if pattern is not None:
                matches.append({"category": category, "pattern": pattern, "path": path})
                break
    kind, sensitivity = file_category(changed.path)
    if changed.binary or changed.mode_change or changed.change == "deleted":
        sensitivity = max(sensitivity, 0.6)
    return {
        "path": changed.path,
        "old_path": changed.old_path,
        "change": changed.change,
        "binary": changed.binary,
        "mode_change": changed.mode_change,
        "lines_added": changed.lines_added,
        "lines_removed": changed.lines_removed,
        "category": kind,
        "sensitivity": sensitivity,
        "matched": matches,
    }


def decide_patch(policy: CompiledPolicy, patch: ParsedPatch, *, first_run: bool) -> PatchDecision:
    try:
        return _decide_patch(policy, patch, first_run=first_run)
    except Exception as exc:  # an error never allows anything
        return PatchDecision(
            outcome=Effect.REQUIRE_APPROVAL,
            policy_version=policy.version,
            reasons=[{"code": "engine_error", "message": f"The policy could not decide: {exc}"}],
            risk_score=1.0,
            hint="Fix the policy; until then a human decides.",
            lines_changed=patch.lines_changed,
        )


def _decide_patch(policy: CompiledPolicy, patch: ParsedPatch, *, first_run: bool) -> PatchDecision:
    spec = policy.spec
    strict = spec.safety_profile is SafetyProfile.STRICT
    files = [_file_entry(policy, changed) for changed in patch.files]
    by_category: dict[str, list[dict]] = {"denied": [], "protected": [], "auto_approvable": []}
    for entry in files:
        for match in entry["matched"]:
            by_category[match["category"]].append({**match, "file": entry["path"]})

    top_dirs = {entry["path"].split("/", 1)[0] if "/" in entry["path"] else "." for entry in files}
    values = {
        "scope": min(
            1.0,
            max(
                patch.lines_changed / max(1, spec.max_auto_approve_lines),
                len(files) / 50,
            ),
        ),
        "protected": 1.0 if by_category["protected"] or by_category["denied"] else 0.0,
        "category": max((entry["sensitivity"] for entry in files), default=0.0),
        "cross_cutting": min(1.0, (len(top_dirs) - 1) / 4),
    }
    factors = [
        {"factor": name, "weight": weight, "value": round(values[name], 4)}
        for name, weight in WEIGHTS.items()
    ]
    score = min(1.0, sum(WEIGHTS[name] * values[name] for name in WEIGHTS))

    reasons: list[dict[str, Any]] = []
    hints: list[str] = []
    outcome = Effect.ALLOW
    if by_category["denied"]:
        outcome = Effect.DENY
        for match in by_category["denied"]:
            reasons.append(
                {
                    "code": "path_denied",
                    "path": match["file"],
                    "pattern": match["pattern"],
                    "message": f"{match['file']} matches denied pattern {match['pattern']!r}.",
                }
            )
        hints.append("Leave denied paths out of the patch.")
    approval_reasons: list[dict[str, Any]] = []
    for match in by_category["protected"]:
        approval_reasons.append(
            {
                "code": "path_protected",
                "path": match["file"],
                "pattern": match["pattern"],
                "message": f"{match['file']} is protected by {match['pattern']!r}.",
            }
        )
    if by_category["protected"]:
        hints.append("Protected paths always need a human; leave them out to auto-approve.")
    if first_run and spec.first_run_requires_approval:
        approval_reasons.append(
            {"code": "first_run", "message": "The project's first run needs an approval."}
        )
    if patch.lines_changed > spec.max_auto_approve_lines:
        approval_reasons.append(
            {
                "code": "too_many_lines",
                "message": f"{patch.lines_changed} changed lines exceed the auto-approval "
                f"limit of {spec.max_auto_approve_lines}.",
            }
        )
        hints.append(f"Split the patch into parts of at most {spec.max_auto_approve_lines} lines.")
    if score > spec.max_auto_approve_risk:
        approval_reasons.append(
            {
                "code": "risk_above_threshold",
                "message": f"Risk {score:.2f} is above the auto-approval threshold "
                f"{spec.max_auto_approve_risk:.2f}.",
            }
        )
    if strict:
        protected_or_denied = {m["file"] for m in by_category["protected"] + by_category["denied"]}
        auto = {m["file"] for m in by_category["auto_approvable"]}
        outside = [
            entry["path"]
            for entry in files
            if entry["path"] not in auto and entry["path"] not in protected_or_denied
        ]
        if outside:
            approval_reasons.append(
                {
                    "code": "strict_not_auto_approvable",
                    "paths": outside[:20],
                    "message": f"{len(outside)} file(s) are outside the auto-approvable paths "
                    "(strict profile).",
                }
            )
            hints.append("Under the strict profile only auto-approvable paths pass unreviewed.")
        unusual = [e["path"] for e in files if e["binary"] or e["mode_change"]]
        if unusual:
            approval_reasons.append(
                {
                    "code": "strict_binary_or_mode",
                    "paths": unusual[:20],
                    "message": "Binary files and mode changes need a human (strict profile).",
                }
            )
    reasons += approval_reasons
    if outcome is not Effect.DENY and approval_reasons:
        outcome = Effect.REQUIRE_APPROVAL
    if outcome is Effect.ALLOW:
        reasons.append({"code": "within_policy", "message": "Every check passed."})
    return PatchDecision(
        outcome=outcome,
        policy_version=policy.version,
        reasons=reasons,
        matched_rules=by_category["denied"]
        + by_category["protected"]
        + by_category["auto_approvable"],
        risk_score=score,
        risk_factors=factors,
        hint=" ".join(dict.fromkeys(hints)),
        files=files,
        lines_changed=patch.lines_changed,
    )
