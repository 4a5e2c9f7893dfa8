"""Publishing compliance: provider policy sources and their snapshots, policy changes an operator
acknowledges, publish packets bound to what is published, and the emergency switches.

Statuses change only through publishing/transitions.py (each move appends its event row);
snapshots and every event table are append-only (model layer everywhere, trigger on PostgreSQL).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from approvals.models import ApprovalRequest, ReviewOutcome
from autopack_site.db.append_only import AppendOnlyModel, TransitionEvent
from autopack_site.models import AgentKey, Project

PROVIDERS = (("youtube", "YouTube"), ("etsy", "Etsy"), ("shopify", "Shopify"))


class PolicyCategory(models.TextChoices):
    COMMUNITY = "community_guidelines", "community guidelines"
    SYNTHETIC = "synthetic_content", "altered or synthetic content disclosure"
    SPAM = "spam_deceptive", "spam and deceptive practices"
    MONETISATION = "partner_programme", "partner programme"
    PROHIBITED = "prohibited_items", "prohibited items or content"
    IP = "intellectual_property", "intellectual property"
    CREATIVITY = "creativity_standards", "creativity standards"
    ACCEPTABLE_USE = "acceptable_use", "acceptable use"
    OTHER = "other", "other"


class PolicySource(models.Model):
    """One page of a provider's rules that the monitor fetches for a project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="policy_sources")
    provider = models.CharField(max_length=20, choices=PROVIDERS)
    name = models.CharField(max_length=120)
    url = models.URLField(max_length=1000)
    category = models.CharField(max_length=32, choices=PolicyCategory.choices)
    selector = models.CharField(
        max_length=200,
        blank=True,
        help_text="Optional CSS selector for the main text (tag, #id, .class, tag.class).",
    )
    required = models.BooleanField(
        default=True, help_text="A required source gates the provider's publishing actions."
    )
    enabled = models.BooleanField(default=True)
    # conditional requests
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_fetch_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider", "name"], name="policy_source_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.name}"

    def clean(self) -> None:
        from publishing.extract import SelectorError, parse_selector

        if self.selector:
            try:
                parse_selector(self.selector)
            except SelectorError as exc:
                raise ValidationError({"selector": str(exc)}) from None


class PolicySnapshot(AppendOnlyModel):
    """The normalised text of a source as fetched, with its SHA-256."""

    source = models.ForeignKey(PolicySource, on_delete=models.CASCADE, related_name="snapshots")
    text = models.TextField()
    content_hash = models.CharField(max_length=64)
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["fetched_at", "id"]

    def __str__(self) -> str:
        return f"{self.source} @ {self.fetched_at:%Y-%m-%d %H:%M} ({self.content_hash[:12]})"


class PolicyChangeStatus(models.TextChoices):
    PENDING = "pending"  # an operator must read and acknowledge it
    ACKNOWLEDGED = "acknowledged"
    SUPERSEDED = "superseded"  # a newer change of the same source replaced it


class PolicyChange(models.Model):
    """A snapshot whose text differs from the last acknowledged one, with the readable diff."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="policy_changes")
    source = models.ForeignKey(PolicySource, on_delete=models.CASCADE, related_name="changes")
    baseline = models.ForeignKey(
        PolicySnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    snapshot = models.ForeignKey(PolicySnapshot, on_delete=models.PROTECT, related_name="+")
    diff = models.TextField()
    status = models.CharField(max_length=16, choices=PolicyChangeStatus.choices)
    acknowledged_by = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"],
                condition=Q(status="pending"),
                name="policy_change_one_pending_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"change of {self.source} ({self.status})"


class PolicyChangeEvent(TransitionEvent):
    change = models.ForeignKey(PolicyChange, on_delete=models.CASCADE, related_name="events")


class PolicyChangeSummary(AppendOnlyModel):
    """The advisory reviewer's plain-language reading of one policy change, written once:
    advice (what changed, what it means for publishing, what to check) or an error (failure,
    timeout, malformed answer). It never acknowledges anything and nothing reads it but the
    admin pages, which show it with its model, time and cost (publishing/policy_summary.py)."""

    change = models.OneToOneField(PolicyChange, on_delete=models.PROTECT, related_name="summary")
    outcome = models.CharField(max_length=16, choices=ReviewOutcome.choices)
    model = models.CharField(max_length=100)
    summary = models.TextField(blank=True)
    meaning = models.TextField(blank=True)
    checks = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "policy change summaries"

    def __str__(self) -> str:
        return f"summary of change #{self.change_id}: {self.outcome}"


class TermKind(models.TextChoices):
    TRADEMARK = "trademark", "trademark terms (warning)"
    BANNED = "banned", "banned content (blocking)"
    AI_DISCLOSURE = "ai_disclosure", "AI disclosure texts (one must appear when required)"


class PublishTermList(models.Model):
    """Terms the packet preflight looks for, one per line, per project (and provider, or all)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="term_lists")
    kind = models.CharField(max_length=16, choices=TermKind.choices)
    provider = models.CharField(
        max_length=20, choices=PROVIDERS, blank=True, help_text="Empty: every provider."
    )
    terms = models.TextField(help_text="One term or phrase per line; matched case-insensitively.")
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "provider"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.provider or 'all providers'})"

    def term_list(self) -> list[str]:
        return [line.strip() for line in self.terms.splitlines() if line.strip()]


class PacketStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval"
    BLOCKED = "blocked"  # a blocking preflight flag: it cannot be approved; edit it
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PublishPacket(models.Model):
    """What an agent means to publish, reviewed by a person before any publishing action may
    reference it. ``content_hash`` is SHA-256 over the canonical packet (autopack_site.canonical);
    the approval binds to it and so does the action that references the packet."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="publish_packets")
    provider = models.CharField(max_length=20, choices=PROVIDERS)
    action = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    media = models.JSONField(default=list, blank=True)
    ai_generated = models.BooleanField(default=False)
    target = models.CharField(max_length=200, blank=True, help_text="Channel or shop.")
    flags = models.JSONField(default=list, blank=True)
    policy_snapshots = models.JSONField(default=list, blank=True)
    content_hash = models.CharField(max_length=64)
    revision = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=PacketStatus.choices)
    approval = models.ForeignKey(
        ApprovalRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_hash = models.CharField(max_length=64, blank=True)
    requested_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="packet_project_status")]

    def __str__(self) -> str:
        return f"packet #{self.pk} {self.provider} {self.action}: {self.title[:60]}"

    @property
    def blocking(self) -> bool:
        return any(flag.get("severity") == "blocking" for flag in self.flags)


class PacketEvent(TransitionEvent):
    packet = models.ForeignKey(PublishPacket, on_delete=models.CASCADE, related_name="events")


class SwitchStatus(models.TextChoices):
    RELEASED = "released"
    ENGAGED = "engaged"


INSTALLATION = "installation"


class EmergencySwitch(models.Model):
    """One per project and one for the installation (project empty, scope "installation").
    Engaged: every decision needs a person and no queued execution runs unless a person approved
    it after the switch was engaged."""

    scope = models.CharField(max_length=40, unique=True, editable=False)
    project = models.OneToOneField(
        Project,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emergency_switch",
    )
    status = models.CharField(max_length=10, choices=SwitchStatus.choices)
    engage_reason = models.CharField(max_length=500, blank=True)
    engaged_by = models.CharField(max_length=200, blank=True)
    engaged_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=200, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope"]

    def __str__(self) -> str:
        where = "the installation" if self.project_id is None else str(self.project)
        return f"emergency switch of {where} ({self.status})"


class SwitchEvent(TransitionEvent):
    switch = models.ForeignKey(EmergencySwitch, on_delete=models.CASCADE, related_name="events")
