from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from autopack_site.db.append_only import AppendOnlyModel
from autopack_site.models import Project


class SafetyProfile(models.TextChoices):
    STRICT = "strict"
    NORMAL = "normal"


class GovernancePolicy(models.Model):
    """A project's rules. Every save bumps ``version`` and keeps a PolicyRevision. Never deleted:
    disabled instead (then it decides like no policy: everything needs a human)."""

    project = models.OneToOneField(Project, on_delete=models.PROTECT, related_name="policy")
    version = models.PositiveIntegerField(default=1, editable=False)
    enabled = models.BooleanField(
        default=True,
        editable=False,
        help_text="Changed only by the disable and enable actions, each keeping a revision.",
    )
    safety_profile = models.CharField(
        max_length=8, choices=SafetyProfile.choices, default=SafetyProfile.STRICT
    )
    case_insensitive_paths = models.BooleanField(
        default=True,
        help_text="Match paths case-insensitively, as a macOS or Windows checkout resolves them "
        "(.ENV is .env there). Turn off only for repositories used on case-sensitive filesystems.",
    )
    max_auto_approve_lines = models.PositiveIntegerField(
        default=200, help_text="Patches with more changed lines always need a human."
    )
    max_auto_approve_risk = models.FloatField(
        default=0.3,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Risk (0-1) above which nothing is auto-approved.",
    )
    first_run_requires_approval = models.BooleanField(default=True)
    required_approvals = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="N in N-of-M: how many operators must approve.",
    )
    pending_window_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1)],
        help_text="A request nobody decided on expires after this long.",
    )
    validity_window_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1)],
        help_text="An approval must be used within this long.",
    )
    # the number the next new action rule's id takes: ids are never reused, even after removal
    next_rule_number = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "governance policies"

    def __str__(self) -> str:
        return f"{self.project.slug} policy v{self.version}"


class PathCategory(models.TextChoices):
    PROTECTED = "protected", "protected (never auto-approved)"
    DENIED = "denied", "denied (refused outright)"
    AUTO_APPROVABLE = "auto_approvable", "auto-approvable"


class PathRule(models.Model):
    policy = models.ForeignKey(
        GovernancePolicy, on_delete=models.CASCADE, related_name="path_rules"
    )
    category = models.CharField(max_length=16, choices=PathCategory.choices)
    pattern = models.CharField(
        max_length=500, help_text="gitignore syntax, e.g. docs/ or src/**/*.py; no ! negation."
    )
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["category", "pattern"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "category", "pattern"], name="pathrule_unique_pattern"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.pattern}"


class Effect(models.TextChoices):
    ALLOW = "allow"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"


class ActionRule(models.Model):
    policy = models.ForeignKey(
        GovernancePolicy, on_delete=models.CASCADE, related_name="action_rules"
    )
    provider_glob = models.CharField(max_length=100, help_text="e.g. youtube, shop*, *")
    action_glob = models.CharField(max_length=100, help_text="e.g. videos.insert, *.delete, *")
    effect = models.CharField(
        max_length=16,
        choices=Effect.choices,
        help_text="When several rules match, the strictest effect wins (deny > require approval "
        "> allow); the editor warns about a rule that can never take effect.",
    )
    rule_key = models.CharField(
        "id",
        max_length=20,
        blank=True,
        editable=False,
        help_text="Stable across edits (rule-N, never reused); given when the rule is first saved.",
    )
    priority = models.IntegerField(
        default=0,
        help_text="Only the order rules are listed and explained in. Every matching rule "
        "applies and the strictest wins: deny, then require approval, then allow. A "
        "high-priority allow does not beat a broader require-approval or deny rule.",
    )
    max_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    dry_run_required = models.BooleanField(default=False)
    publish_packet_required = models.BooleanField(default=False)
    fresh_provider_policy_required = models.BooleanField(default=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="For temporary overrides; ignored after this time."
    )
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "rule_key"],
                condition=~models.Q(rule_key=""),
                name="actionrule_unique_key",
            )
        ]

    def __str__(self) -> str:
        key = f"{self.rule_key}: " if self.rule_key else ""
        return f"{key}{self.provider_glob}/{self.action_glob} → {self.effect}"


class PolicyRevision(AppendOnlyModel):
    """Append-only history: who changed the policy, when, why, and what changed."""

    policy = models.ForeignKey(GovernancePolicy, on_delete=models.PROTECT, related_name="revisions")
    version = models.PositiveIntegerField()
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500)
    snapshot = models.JSONField()
    diff = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "version"], name="revision_unique_version")
        ]

    def __str__(self) -> str:
        return f"v{self.version} by {self.editor or 'system'}: {self.reason}"


class DecisionKind(models.TextChoices):
    ACTION = "action"
    PATCH = "patch"


class DecisionLog(AppendOnlyModel):
    """Every decision the engine made, with its input redacted and hashed. Append-only."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="decision_logs")
    kind = models.CharField(max_length=8, choices=DecisionKind.choices)
    policy_version = models.PositiveIntegerField()
    input_redacted = models.JSONField()
    input_hash = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Effect.choices)
    reasons = models.JSONField(default=list)
    matched_rules = models.JSONField(default=list)
    risk_score = models.FloatField(default=0.0)
    duration_us = models.PositiveIntegerField()
    requester = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="decisionlog_recent")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.outcome} (v{self.policy_version})"
