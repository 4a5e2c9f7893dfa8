"""The decision engine: pure functions over a compiled policy. No Django imports here."""

from policies.engine.decisions import ActionRequest, Decision, decide_action
from policies.engine.patch_decisions import PatchDecision, decide_patch, file_category
from policies.engine.patches import ChangedFile, ParsedPatch, PatchParseError, parse_patch
from policies.engine.paths import (
    CompiledPathRules,
    InvalidPatternError,
    UnsafePathError,
    normalise_path,
    validate_patterns,
)
from policies.engine.shadows import Shadow, shadowed_rules
from policies.engine.spec import (
    ActionRule,
    CompiledPolicy,
    Effect,
    PolicySpec,
    PolicyValidationError,
    SafetyProfile,
    compile_policy,
)
from policies.engine.templates import TEMPLATES

__all__ = [
    "TEMPLATES",
    "ActionRequest",
    "ActionRule",
    "ChangedFile",
    "CompiledPathRules",
    "CompiledPolicy",
    "Decision",
    "Effect",
    "InvalidPatternError",
    "ParsedPatch",
    "PatchDecision",
    "PatchParseError",
    "PolicySpec",
    "PolicyValidationError",
    "SafetyProfile",
    "Shadow",
    "UnsafePathError",
    "compile_policy",
    "decide_action",
    "decide_patch",
    "file_category",
    "normalise_path",
    "parse_patch",
    "shadowed_rules",
    "validate_patterns",
]
