from django.conf import settings
from django.db import models
from django.db.models import Q

from autopack_site.actors import SYSTEM, actor_of_user
from autopack_site.db.append_only import AppendOnlyModel, TransitionEvent
from autopack_site.models import AgentKey, Project


class ApprovalKind(models.TextChoices):
    PATCH = "patch"
    ACTION = "action"
    PUBLISH_PACKET = "publish_packet"
    LIVE_TRADING = "live_trading"
    STRATEGY_VERSION = "strategy_version"
    LIMIT_CHANGE = "limit_change"
    POLICY_CHANGE = "policy_change"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    CONSUMED = "consumed"


class RejectReasonCode(models.TextChoices):
    UNSAFE = "unsafe", "Unsafe or harmful"
    INCORRECT = "incorrect", "Incorrect or broken"
    OUT_OF_SCOPE = "out_of_scope", "Outside the run's goal"
    POLICY_VIOLATION = "policy_violation", "Violates policy"
    NEEDS_CHANGES = "needs_changes", "Needs changes first"
    OTHER = "other", "Other (see reason)"


class ApprovalRequest(models.Model):
    """A question to humans about one exact payload, identified by its SHA-256."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="approval_requests")
    kind = models.CharField(max_length=32, choices=ApprovalKind.choices)
    # The row the request is about, in the model its kind names (an action's id for "action");
    # the approval-consumer registered for the kind receives it (approvals/consumers.py).
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    # What a newer request replaces: a pending request with the same kind and subject is
    # superseded by it ("run:12:patch:implement"). Compared, never parsed.
    subject = models.CharField(max_length=255)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    payload = models.JSONField()
    payload_hash = models.CharField(max_length=64)
    risk_score = models.FloatField(default=0.0)
    risk_factors = models.JSONField(default=list, blank=True)
    explanation = models.JSONField(default=dict, blank=True)
    requested_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    approvals_count = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField(help_text="A pending request expires at this time.")
    validity_seconds = models.PositiveIntegerField(
        default=86_400, help_text="How long an approval stays usable."
    )
    valid_until = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    consumed_at = models.DateTimeField(null=True, blank=True)
    callback_url = models.URLField(max_length=1000, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expires_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind", "subject"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_target",
            ),
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1)
                & Q(approvals_count__lte=models.F("required_approvals")),
                name="approval_count_within_quorum",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="approval_inbox"),
            models.Index(fields=["project", "status"], name="approval_project_status"),
            models.Index(
                fields=["valid_until"], condition=Q(status="approved"), name="approval_validity"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}: {self.title}"

    @property
    def requester_label(self) -> str:
        if self.requested_by_key_id:
            return self.requested_by_key.actor_label
        if self.requested_by_user_id:
            return actor_of_user(self.requested_by_user)
        return SYSTEM


class ApprovalDecision(AppendOnlyModel):
    class Verdict(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="decisions")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_decisions"
    )
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=32, choices=RejectReasonCode.choices, blank=True)
    payload_hash_seen = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="approval_one_decision_per_approver"
            ),
            models.CheckConstraint(
                condition=Q(verdict="approve") | ~Q(reason=""),
                name="approval_reject_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} by {self.approver_id} on #{self.request_id}"


class ApprovalEvent(TransitionEvent):
    """One row per status change of a request (approvals/transitions.py)."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="events")

    def __str__(self) -> str:
        return f"#{self.request_id}: {self.from_status or '∅'} → {self.to_status}"


class NotificationChannel(models.TextChoices):
    EMAIL = "email"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NotificationDelivery(models.Model):
    """One message on one channel about one request event; retried by the worker until sent."""

    request = models.ForeignKey(
        ApprovalRequest, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=16, choices=NotificationChannel.choices)
    event = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=NotificationStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="notification_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event} for #{self.request_id}: {self.status}"


class NotificationEvent(TransitionEvent):
    delivery = models.ForeignKey(
        NotificationDelivery, on_delete=models.PROTECT, related_name="events"
    )

    def __str__(self) -> str:
        return f"notification #{self.delivery_id}: {self.from_status or '∅'} → {self.to_status}"


class ReviewerSettings(models.Model):
    """Per project: whether the advisory reviewer (Claude) reads new approval requests (and
    summarises new provider policy changes, publishing/policy_summary.py), and
    which model. Off by default, and off whatever this says without ANTHROPIC_API_KEY in the
    project's secret namespace."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="reviewer_settings"
    )
    enabled = models.BooleanField(default=False)
    model = models.CharField(max_length=100, default="claude-sonnet-4-5")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "reviewer settings"
        verbose_name_plural = "reviewer settings"

    def __str__(self) -> str:
        return f"{self.project}: reviewer {'on' if self.enabled else 'off'} ({self.model})"


class ReviewOutcome(models.TextChoices):
    ADVICE = "advice"
    ERROR = "error"


class ApprovalReview(AppendOnlyModel):
    """The advisory reviewer's answer to one approval request, written once: advice (summary,
    concerns, questions) or an error (failure, timeout, malformed answer). Advice never
    changes a decision; it is shown to the operator with its model, time and cost."""

    request = models.OneToOneField(ApprovalRequest, on_delete=models.PROTECT, related_name="review")
    outcome = models.CharField(max_length=16, choices=ReviewOutcome.choices)
    model = models.CharField(max_length=100)
    summary = models.TextField(blank=True)
    concerns = models.JSONField(default=list, blank=True)
    questions = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"review of #{self.request_id}: {self.outcome}"
