from django.conf import settings
from django.db import models
from django.db.models import Q


class Project(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    POLICY_EDITOR = "policy_editor", "Policy editor"
    TRADING_SUPERVISOR = "trading_supervisor", "Trading supervisor"
    OWNER = "owner", "Owner"


class ProjectMembership(models.Model):
    """One role of one user in one project; a user may hold several roles in a project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user", "role"], name="membership_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.project}"


class Scope(models.TextChoices):
    READ = "read", "read: everything in the project, read-only"
    RUNS_WRITE = "runs:write", "runs:write: create runs, claim and complete phases"
    ACTIONS_WRITE = "actions:write", "actions:write: propose external actions"
    TRADING_WRITE = "trading:write", "trading:write: pre-trade checks, kill switch"
    HANDOFF_WRITE = (
        "handoff:write",
        "handoff:write: a sub-agent's key: read a run's handoff context, submit handoffs",
    )


class AgentKey(models.Model):
    """An agent's credential: shown once, stored as a public prefix plus an HMAC of the key."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agent_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_reason = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"],
                condition=Q(revoked_at__isnull=True),
                name="agentkey_unique_active_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def actor_label(self) -> str:
        """How events name this key: the name for people, the prefix to tell reused names
        apart."""
        return f"agent:{self.name}:{self.prefix}"


class ProjectSigningSecret(models.Model):
    """A project's secret for signing what the platform sends to its agents (approval callbacks,
    webhook actions), so one project's agent cannot forge another's. Shown once when made and
    stored encrypted (autopack_site/encryption.py): signing needs the secret itself."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="signing_secrets")
    sealed_secret = models.TextField(editable=False)
    fingerprint = models.CharField(
        max_length=16, editable=False, help_text="Start of the secret's SHA-256: tells it apart."
    )
    signs_from = models.DateTimeField(
        help_text="When it starts signing; the previous secret signs until then."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "signs_from"], name="signing_secret_current")]

    def __str__(self) -> str:
        return f"{self.project} signing secret {self.fingerprint}…"


class WorkerHeartbeat(models.Model):
    """Written by a django-q2 schedule; its age tells health whether any worker is alive."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)
    pid = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class KeyRequestWindow(models.Model):
    """An agent key's request budget for the current minute, counted in SQL by every process."""

    key = models.OneToOneField(
        AgentKey, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    window_started_at = models.DateTimeField()
    used = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key_id}: {self.used} since {self.window_started_at:%H:%M:%S}"


class LongPollSlot(models.Model):
    """One long-poll in flight for a key; a poll that dies leaves a slot that lapses by itself."""

    key = models.ForeignKey(AgentKey, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "expires_at"], name="longpoll_key_active")]

    def __str__(self) -> str:
        return f"poll of key {self.key_id} until {self.expires_at:%H:%M:%S}"


class OutboxMessage(models.Model):
    """A task that must run because of a committed change, written in the same transaction as
    that change (autopack_site/outbox.py). The relay hands it to the broker and marks it sent;
    the worker marks it delivered once the task ran. Sent but undelivered for too long means the
    broker lost it: the relay sends it again (tasks are idempotent)."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sends = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=Q(delivered_at__isnull=True), name="outbox_undelivered"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.task}{tuple(self.args)}"
