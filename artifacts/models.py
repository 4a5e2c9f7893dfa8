"""What a run produces (artifacts, with their class, retention and redaction) and the work it
hands to sub-agents (handoffs, with their output contracts). docs/artifacts.md."""

from django.db import models
from django.db.models import Q

from autopack_site.db.append_only import TransitionEvent
from autopack_site.models import AgentKey, Project
from runs.models import Run


class ArtifactClass(models.TextChoices):
    RUN_LOG = "run_log"
    DEBUG_LOG = "debug_log"
    ERROR_LOG = "error_log"
    SCREENSHOT = "screenshot"
    VIDEO = "video"
    HAR_LOG = "har_log"
    BROWSER_STATE = "browser_state"
    API_RESPONSE = "api_response"
    CREDENTIAL_ARTIFACT = "credential_artifact"
    PII_ARTIFACT = "pii_artifact"
    AUDIT_LOG = "audit_log"
    APPROVAL_RECORD = "approval_record"
    HANDOFF_CONTEXT = "handoff_context"


class ArtifactStatus(models.TextChoices):
    STORED = "stored"
    ARCHIVED = "archived"
    DELETED = "deleted"


class Artifact(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="artifacts")
    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="artifacts")
    name = models.CharField(max_length=300, help_text="Relative to the run's directory.")
    artifact_class = models.CharField(max_length=32, choices=ArtifactClass.choices)
    status = models.CharField(max_length=16, choices=ArtifactStatus.choices)
    storage_path = models.CharField(max_length=700, editable=False)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(help_text="Bytes as uploaded.")
    stored_size = models.PositiveBigIntegerField(help_text="Bytes as stored (after redaction).")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the bytes as uploaded.")
    content_sha256 = models.CharField(
        max_length=64, help_text="SHA-256 of the content as stored, before encryption."
    )
    redacted = models.BooleanField(default=False)
    redaction_count = models.PositiveIntegerField(default=0)
    encrypted = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    uploaded_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_purged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "name"],
                condition=Q(status="stored") | Q(status="archived"),
                name="artifact_unique_live_name",
            )
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="stored"), name="artifact_due")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.artifact_class})"


class ArtifactEvent(TransitionEvent):
    """Stored, archived, deleted: each with who and why; a deletion names what was removed."""

    artifact = models.ForeignKey(Artifact, on_delete=models.PROTECT, related_name="events")

    class Meta(TransitionEvent.Meta):
        pass


class RetentionOverride(models.Model):
    """A project's own retention for one artifact class (days), instead of the default. Applies
    to artifacts uploaded after it is set."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="artifact_retention"
    )
    artifact_class = models.CharField(max_length=32, choices=ArtifactClass.choices)
    days = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "artifact_class"], name="retention_unique_class"
            ),
            models.CheckConstraint(condition=Q(days__gte=1), name="retention_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.project}: {self.artifact_class} {self.days} d"


class HandoffKind(models.TextChoices):
    RESEARCH = "research"
    PLANNING = "planning"
    ANALYSIS = "analysis"


class HandoffStatus(models.TextChoices):
    BRIEFED = "briefed"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class Handoff(models.Model):
    """Work handed to a sub-agent: the brief it was given (from the run's context document) and,
    once it passed the output contract, its answer, content-hashed."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="handoffs")
    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="handoffs")
    kind = models.CharField(max_length=16, choices=HandoffKind.choices)
    status = models.CharField(max_length=16, choices=HandoffStatus.choices)
    strict = models.BooleanField(
        default=False, help_text="Side-effect language in the answer is refused, not flagged."
    )
    brief = models.TextField()
    context_sha256 = models.CharField(max_length=64)
    output = models.JSONField(null=True, blank=True)
    output_sha256 = models.CharField(max_length=64, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    created_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} handoff #{self.pk} ({self.status})"


class HandoffEvent(TransitionEvent):
    handoff = models.ForeignKey(Handoff, on_delete=models.PROTECT, related_name="events")

    class Meta(TransitionEvent.Meta):
        pass
