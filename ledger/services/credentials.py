"""Credentials: metadata in the database, secrets in the environment. Checked before every call:
present, active, not held, allowed action, required scopes, environment, rotation age.
OAuth refresh over httpx with bounded retries; a failed refresh holds the provider's actions."""

import fnmatch
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.db import transaction
from django.utils import timezone

from autopack_site.redaction import redact_text
from ledger.conf import REQUIRED_SCOPES, ROTATION_DAYS, ledger_settings
from ledger.models import HELD_BY_CREDENTIAL, ActionStatus, ExternalAction, ProviderCredential

logger = logging.getLogger(__name__)

REFRESH_ATTEMPTS = 3
_access_tokens: dict[int, tuple[str, float]] = {}  # credential id → (token, expires monotonic)


class CredentialProblem(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CredentialHealth:
    provider: str
    environment: str
    name: str
    state: str  # ok | rotate_soon | critical | held | missing_secret | inactive
    age_days: int
    rotate_after_days: int
    refuse_after_days: int
    held_reason: str


def credential_health(credential: ProviderCredential) -> CredentialHealth:
    warn, critical = ROTATION_DAYS.get(credential.provider, (90, 180))
    age = (timezone.now() - credential.rotated_at).days
    if not credential.active:
        state = "inactive"
    elif credential.held_reason:
        state = "held"
    elif not os.environ.get(credential.secret_ref):
        state = "missing_secret"
    elif age >= critical:
        state = "critical"
    elif age >= warn:
        state = "rotate_soon"
    else:
        state = "ok"
    return CredentialHealth(
        provider=credential.provider,
        environment=credential.environment,
        name=credential.name,
        state=state,
        age_days=age,
        rotate_after_days=warn,
        refuse_after_days=critical,
        held_reason=credential.held_reason,
    )


def credential_check(action: ExternalAction) -> tuple[ProviderCredential, str]:
    """The credential and secret for this action, or CredentialProblem with a clear reason."""
    environment = ledger_settings().environment
    credential = ProviderCredential.objects.filter(
        project_id=action.project_id,
        provider=action.provider,
        environment=environment,
        active=True,
    ).first()
    if credential is None:
        raise CredentialProblem(
            "credential_missing",
            f"No active {action.provider} credential for the {environment} environment.",
        )
    health = credential_health(credential)
    if health.state == "held":
        raise CredentialProblem("credential_held", f"Credential held: {credential.held_reason}")
    if health.state == "missing_secret":
        raise CredentialProblem(
            "credential_secret_missing",
            f"The environment variable {credential.secret_ref} is not set on the worker.",
        )
    if health.state == "critical":
        raise CredentialProblem(
            "credential_rotation_overdue",
            f"The credential is {health.age_days} days old; rotate it (limit "
            f"{health.refuse_after_days} days).",
        )
    if not any(fnmatch.fnmatchcase(action.action, glob) for glob in credential.allowed_actions):
        raise CredentialProblem(
            "credential_action_not_allowed",
            f"The credential does not allow {action.action!r} (allowed: "
            f"{', '.join(credential.allowed_actions) or 'nothing'}).",
        )
    needed = REQUIRED_SCOPES.get(action.provider, {}).get(action.action, [])
    missing = [scope for scope in needed if scope not in credential.scopes]
    if missing:
        raise CredentialProblem(
            "credential_scope_missing",
            f"The credential lacks the scope(s) {', '.join(missing)} for {action.action}.",
        )
    secret = os.environ[credential.secret_ref]
    if credential.token_url and credential.refresh_token_ref:
        secret = credential_access_token(credential)
    return credential, secret


def credential_access_token(
    credential: ProviderCredential, *, transport: httpx.BaseTransport | None = None
) -> str:
    cached = _access_tokens.get(credential.pk)
    if cached and cached[1] > time.monotonic() + 30:
        return cached[0]
    return credential_refresh(credential, transport=transport)


def credential_refresh(
    credential: ProviderCredential, *, transport: httpx.BaseTransport | None = None
) -> str:
    """OAuth refresh_token grant, retried a bounded number of times. On failure the credential
    is held, its provider's queued actions are held, and operators are told."""
    refresh_token = os.environ.get(credential.refresh_token_ref, "")
    client_secret = os.environ.get(credential.secret_ref, "")
    error = ""
    with httpx.Client(timeout=10, transport=transport) as client:
        for attempt in range(REFRESH_ATTEMPTS):
            try:
                response = client.post(
                    credential.token_url,
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": refresh_token,
                        "client_id": credential.name,
                        "client_secret": client_secret,
                    },
                )
                if response.status_code == 200:
                    body = response.json()
                    token = body["access_token"]
                    _access_tokens[credential.pk] = (
                        token,
                        time.monotonic() + float(body.get("expires_in", 3600)),
                    )
                    ProviderCredential.objects.filter(pk=credential.pk).update(
                        last_refresh_at=timezone.now(), last_refresh_error=""
                    )
                    return token
                error = f"token endpoint answered {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    break  # a refusal will not change on retry
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                error = f"{type(exc).__name__}: {redact_text(str(exc))}"
            time.sleep(min(2**attempt * 0.2, 2))
    credential_hold(credential, reason=f"OAuth refresh failed: {error}"[:300])
    raise CredentialProblem("credential_refresh_failed", f"OAuth refresh failed: {error}")


def credential_hold(credential: ProviderCredential, *, reason: str) -> int:
    """Holds the credential and every queued action of its provider in its project."""
    from ledger.services.common import locked_action
    from ledger.transitions import ACTION

    ProviderCredential.objects.filter(pk=credential.pk).update(
        held_reason=reason, last_refresh_error=reason
    )
    held = 0
    queued = ExternalAction.objects.filter(
        project_id=credential.project_id, provider=credential.provider, status=ActionStatus.APPROVED
    ).values_list("pk", flat=True)
    for pk in list(queued):
        with transaction.atomic():
            action = locked_action(pk)
            if action.status == ActionStatus.APPROVED:
                ACTION.move(
                    action,
                    ActionStatus.HELD,
                    actor="system",
                    reason=reason,
                    error=reason,
                    held_by=HELD_BY_CREDENTIAL,
                )
                held += 1
    logger.warning(
        "credential held",
        extra={"provider": credential.provider, "credential": credential.pk, "held": held},
    )
    _tell_operators(credential, reason)
    return held


def _tell_operators(credential: ProviderCredential, reason: str) -> None:
    from django.core.mail import send_mail

    from autopack_site.models import ProjectMembership, Role

    emails = list(
        ProjectMembership.objects.filter(
            project_id=credential.project_id, role__in=[Role.OPERATOR, Role.OWNER]
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
        .distinct()
    )
    if emails:
        transaction.on_commit(
            lambda: send_mail(
                f"[Autopack] {credential.provider} credential held",
                f"{credential} is held: {reason}\nQueued {credential.provider} actions are held "
                "until an operator releases them.",
                None,
                emails,
                fail_silently=True,
            )
        )


def rotation_age(credential: ProviderCredential) -> timedelta:
    return timezone.now() - credential.rotated_at
