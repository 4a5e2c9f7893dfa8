"""The ledger: every external side effect an agent proposed, what was decided, and what happened.

ExternalAction rows change only through ledger.services and the ACTION state machine
(ledger/transitions.py), which writes an ActionEvent with every status change; events and
answers are append-only (model layer everywhere, trigger on PostgreSQL)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from approvals.models import ApprovalRequest
from autopack_site.db.append_only import AppendOnlyModel, TransitionEvent
from autopack_site.models import AgentKey, Project
from autopack_site.project_secrets import MAX_NAME_LENGTH, secret_name_problem
from autopack_site.validators import validate_string_list
from ledger.providers.registry import ADAPTERS
from runs.models import Phase, Run


class ActionStatus(models.TextChoices):
    DRY_RUN = "dry_run"  # rendered only; never executes
    DENIED = "denied"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"  # queued for execution (or for an agent to claim)
    HELD = "held"  # a credential problem stops it; an operator releases or cancels
    EXECUTING = "executing"  # claimed under a lease
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the call may have happened; the reconciler asks the provider
    NEEDS_RECONCILIATION = "needs_reconciliation"  # the provider cannot tell; a human decides
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# ExternalAction.held_by: what holds a held action, so the right party lets it go.
HELD_BY_GUARD = "guard"  # an action guard (ledger/guards.py); released when it lets go
HELD_BY_CREDENTIAL = "credential"  # a credential problem; an operator releases it


class ActionMode(models.TextChoices):
    PLATFORM = "platform"  # the worker calls the provider
    AGENT = "agent"  # the agent calls it, after claiming the action here


class ExternalAction(models.Model):
    # No single-column indexes on project and run: the composite ones below lead with them.
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="actions", db_index=False
    )
    idempotency_key = models.CharField(max_length=255)
    request_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the canonical request body (replay detection)."
    )
    provider = models.CharField(max_length=50)
    action = models.CharField(max_length=100)
    payload = models.JSONField()
    payload_hash = models.CharField(max_length=64)
    dry_run = models.BooleanField(default=False)
    mode = models.CharField(max_length=8, choices=ActionMode.choices, default=ActionMode.PLATFORM)
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    callback_url = models.URLField(max_length=1000, blank=True)
    requested_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=24, choices=ActionStatus.choices)
    decision = models.JSONField(default=dict, blank=True)
    rendered_request = models.JSONField(default=dict, blank=True)
    side_effects = models.JSONField(default=list, blank=True)
    approval = models.ForeignKey(
        ApprovalRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.CharField(
        max_length=64, help_text="Our reference at the provider (lookups by it)."
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    provider_reference = models.CharField(max_length=255, blank=True)
    response_summary = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    held_by = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "idempotency_key"], name="action_unique_idempotency_key"
            ),
            # A constraint, not unique=True: no second (LIKE) index on PostgreSQL.
            models.UniqueConstraint(fields=["reference"], name="action_unique_reference"),
            models.CheckConstraint(
                condition=~Q(status="executing") | Q(lease_expires_at__isnull=False),
                name="action_executing_has_lease",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="approved"), name="action_due"
            ),
            models.Index(
                fields=["lease_expires_at"], condition=Q(status="executing"), name="action_leases"
            ),
            models.Index(fields=["project", "status"], name="action_project_status"),
            models.Index(fields=["run", "id"], name="action_run"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.provider}/{self.action} ({self.status})"


class ActionEvent(TransitionEvent):
    action = models.ForeignKey(ExternalAction, on_delete=models.PROTECT, related_name="events")

    def __str__(self) -> str:
        return f"#{self.action_id}: {self.from_status or '∅'} → {self.to_status}"


class ActionAnswer(AppendOnlyModel):
    """The first answer to a proposal, as the exact bytes sent: a replay of the same
    Idempotency-Key and request sends them again, byte for byte."""

    action = models.OneToOneField(
        ExternalAction, on_delete=models.PROTECT, primary_key=True, related_name="answer"
    )
    status_code = models.PositiveSmallIntegerField()
    body = models.BinaryField()

    def __str__(self) -> str:
        return f"answer to #{self.action_id} ({self.status_code})"


class Environment(models.TextChoices):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class ProviderCredential(models.Model):
    """Metadata about a credential. The secret itself lives outside the database, inside the
    project's own namespace (autopack_site/project_secrets.py): ``secret_name`` is a name there,
    never a variable, file or URL a user chooses. The token endpoint belongs to the adapter."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="credentials")
    provider = models.CharField(max_length=50)
    name = models.CharField(max_length=100)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.SANDBOX
    )
    scopes = models.JSONField(default=list, blank=True, validators=[validate_string_list])
    allowed_actions = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="Action globs this credential may perform.",
    )
    secret_name = models.CharField(
        max_length=MAX_NAME_LENGTH,
        blank=True,
        help_text="The secret's name in this project's namespace, e.g. SHOPIFY_TOKEN: read from "
        "AUTOPACK_SECRET_<PROJECT>__<NAME> (or AUTOPACK_SECRETS_DIR/<project>/<NAME>) on the "
        "worker. Empty for the webhook, which signs with the project's signing secret.",
    )
    refresh_token_name = models.CharField(
        max_length=MAX_NAME_LENGTH,
        blank=True,
        help_text="Name of an OAuth refresh token in the same namespace, if the provider uses one.",
    )
    rotated_at = models.DateTimeField(help_text="When the secret was last rotated.")
    active = models.BooleanField(default=True)
    held_reason = models.CharField(max_length=300, blank=True)
    last_refresh_at = models.DateTimeField(null=True, blank=True)
    last_refresh_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider", "environment"],
                condition=Q(active=True),
                name="credential_one_active_per_provider_env",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.environment}: {self.name}"

    def clean(self):
        """Names only inside the project's namespace, and only what the provider uses."""
        errors: dict[str, str] = {}
        adapter = ADAPTERS.get(self.provider)
        if adapter is None:
            errors["provider"] = f"Unknown provider; one of {', '.join(sorted(ADAPTERS))}."
        for field in ("secret_name", "refresh_token_name"):
            value = getattr(self, field)
            if value and (problem := secret_name_problem(value)):
                errors[field] = problem
        if adapter is not None and "secret_name" not in errors:
            if adapter.signs_with_project_secret and self.secret_name:
                errors["secret_name"] = (
                    f"{adapter.name} signs with the project's signing secret "
                    "(manage.py signingsecret); leave this empty."
                )
            elif not adapter.signs_with_project_secret and not self.secret_name:
                errors["secret_name"] = f"Name the secret, e.g. {adapter.name.upper()}_TOKEN."
        if adapter is not None and self.refresh_token_name and not adapter.oauth_token_url:
            errors["refresh_token_name"] = f"{adapter.name} credentials do not refresh over OAuth."
        if errors:
            raise ValidationError(errors)


class RateLimitWindow(models.Model):
    """A project's call budget at one provider, shared by every worker, counted in SQL."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=50)
    window_started_at = models.DateTimeField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider"], name="ratelimit_one_window_per_project_provider"
            )
        ]

    def __str__(self) -> str:
        started = f"{self.window_started_at:%H:%M:%S}"
        return f"{self.project_id}/{self.provider}: {self.used} since {started}"
