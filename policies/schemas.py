"""The policy as data: the snapshot stored in revisions and edited as a draft, and API bodies."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autopack_site.api.inputs import DisplayText, StrictIn, decimal_string
from autopack_site.outbound import CallbackURL

EffectName = Literal["allow", "require_approval", "deny"]


class ActionRuleSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # stable id ("rule-7"); omitted for a new rule, which gets the policy's next number on save
    id: str | None = Field(default=None, pattern=r"^rule-[1-9][0-9]{0,8}$")
    provider_glob: str = Field(min_length=1, max_length=100)
    action_glob: str = Field(min_length=1, max_length=100)
    effect: EffectName
    priority: int = 0
    max_amount: Decimal | None = Field(default=None, ge=0)
    dry_run_required: bool = False
    publish_packet_required: bool = False
    fresh_provider_policy_required: bool = False
    expires_at: datetime | None = None
    description: str = Field(default="", max_length=300)


class PathRulesSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protected: list[str] = Field(default_factory=list)
    denied: list[str] = Field(default_factory=list)
    auto_approvable: list[str] = Field(default_factory=list)


class PolicySnapshot(BaseModel):
    """Everything that decides outcomes; two equal snapshots decide identically."""

    model_config = ConfigDict(extra="forbid")

    safety_profile: Literal["strict", "normal"] = "strict"
    case_insensitive_paths: bool = True
    max_auto_approve_lines: int = Field(default=200, ge=0)
    max_auto_approve_risk: float = Field(default=0.3, ge=0, le=1)
    first_run_requires_approval: bool = True
    required_approvals: int = Field(default=1, ge=1, le=10)
    pending_window_hours: int = Field(default=24, ge=1)
    validity_window_hours: int = Field(default=24, ge=1)
    path_rules: PathRulesSnapshot = Field(default_factory=PathRulesSnapshot)
    action_rules: list[ActionRuleSnapshot] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_unique(self) -> "PolicySnapshot":
        ids = [rule.id for rule in self.action_rules if rule.id]
        if len(ids) != len(set(ids)):
            raise ValueError("two action rules have the same id; remove the id of the copy")
        return self


class ActionQuestion(StrictIn):
    provider: str = Field(min_length=1, max_length=100)
    action: str = Field(min_length=1, max_length=100)
    amount: decimal_string(whole_digits=18, places=9) | None = None
    dry_run_done: bool = False
    publish_packet_approved: bool = False
    provider_policy_fresh: bool | None = None


class PatchQuestion(StrictIn):
    diff: str = Field(min_length=1, max_length=5_000_000)
    first_run: bool = False


class EvaluateIn(StrictIn):
    """Ask about an action or a patch (exactly one); nothing is created."""

    action: ActionQuestion | None = None
    patch: PatchQuestion | None = None


class OverriddenRuleOut(BaseModel):
    rule: str
    effect: EffectName
    beaten_by: str
    beaten_by_effect: EffectName
    message: str


class PolicyDecisionOut(BaseModel):
    outcome: EffectName
    policy_version: int
    reasons: list[dict[str, Any]]
    matched_rules: list[dict[str, Any]]
    # matching rules that did not decide: a stricter matching rule beat each
    overridden_rules: list[OverriddenRuleOut] = Field(default_factory=list)
    risk: dict[str, Any]
    hint: str
    details: dict[str, Any] = Field(default_factory=dict)


class PatchSubmitIn(StrictIn):
    diff: str = Field(min_length=1, max_length=5_000_000)
    phase: str | None = Field(default=None, max_length=100)
    title: DisplayText = Field(default="", max_length=300)
    callback_url: CallbackURL = ""


class PatchOut(BaseModel):
    id: int
    run: int
    phase: str | None
    diff_sha256: str
    lines_added: int
    lines_removed: int
    files: list[dict[str, Any]]
    outcome: EffectName
    decision: PolicyDecisionOut
    approval: dict[str, Any] | None
    created_at: datetime


class PatchListOut(BaseModel):
    results: list[PatchOut]
