from decimal import Decimal

from django.db import models
from django.db.models import Q

from autopack_site.db.append_only import TransitionEvent
from autopack_site.models import AgentKey, Project
from runs.layout import run_path


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PhaseStatus(models.TextChoices):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class AttemptStatus(models.TextChoices):
    LEASED = "leased"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


class Run(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="runs")
    family = models.SlugField(max_length=100)
    run_id = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=RunStatus.choices)
    config = models.JSONField(default=dict, blank=True)
    config_hash = models.CharField(max_length=64, editable=False)
    created_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "family", "run_id"], name="run_unique_family_run_id"
            )
        ]
        indexes = [models.Index(fields=["project", "status"], name="run_project_status")]

    def __str__(self) -> str:
        return f"{self.family}/{self.run_id}"

    @property
    def layout_path(self) -> str:
        """Where the run's files live on an agent's disk, by convention."""
        return run_path(self.project.slug, self.family, self.run_id)


class Phase(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="phases")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField()
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, related_name="dependents", blank=True
    )
    max_attempts = models.PositiveSmallIntegerField(default=3)
    attempts_used = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=PhaseStatus.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="phase_unique_key"),
            models.UniqueConstraint(fields=["run", "position"], name="phase_unique_position"),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1) & Q(attempts_used__lte=models.F("max_attempts")),
                name="phase_attempts_within_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class Attempt(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="attempts")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=AttemptStatus.choices)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    claimed_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField()
    checkpoint = models.JSONField(null=True, blank=True)
    error_type = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "number"], name="attempt_unique_number"),
            # The last line of defence for "exactly one claimer wins".
            models.UniqueConstraint(
                fields=["phase"], condition=Q(status="leased"), name="attempt_one_lease_per_phase"
            ),
            models.UniqueConstraint(
                fields=["run", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="attempt_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="leased"),
                name="attempt_active_lease",
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.phase.key}"


class RunEvent(TransitionEvent):
    """One status change of the run, one of its phases or one of its attempts."""

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="events")
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )

    def __str__(self) -> str:
        subject = (
            f"attempt {self.attempt_id}"
            if self.attempt_id
            else f"phase {self.phase_id}"
            if self.phase_id
            else "run"
        )
        return f"{self.run_id} {subject}: {self.from_status or '∅'} → {self.to_status}"


class UsageEvent(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="usage_events")
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_events"
    )
    provider = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(cost_usd__gte=0), name="usage_cost_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}: {self.tokens_in}+{self.tokens_out}"


class Patch(models.Model):
    """A unified diff an agent submitted for governance, with the decision taken on it."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="patches")
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.SET_NULL, related_name="patches"
    )
    diff_text = models.TextField()
    diff_sha256 = models.CharField(max_length=64)
    files = models.JSONField(default=list)
    lines_added = models.PositiveIntegerField(default=0)
    lines_removed = models.PositiveIntegerField(default=0)
    risk_score = models.FloatField(default=0.0)
    outcome = models.CharField(max_length=16)
    decision = models.JSONField(default=dict)
    approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"patch {self.diff_sha256[:12]} on {self.run}"
