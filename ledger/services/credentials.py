"""Credentials: metadata in the database, secrets in the project's own namespace
(autopack_site/project_secrets.py). Checked before every call: present, active, not held,
allowed action, required scopes, environment, rotation age. OAuth refresh posts to the adapter's
token endpoint (pinned, like every outbound call) with bounded retries; a failed refresh holds
the provider's actions."""

import fnmatch
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.db import transaction
from django.utils import timezone

from autopack_site.outbound import RefusedTarget, outbound_client
from autopack_site.project_secrets import SecretUnavailable, secret_location, secret_read
from autopack_site.redaction import scrub
from autopack_site.selectors import signing_secret_current
from ledger.conf import REQUIRED_SCOPES, ROTATION_DAYS, ledger_settings
from ledger.guards import credential_override
from ledger.models import HELD_BY_CREDENTIAL, ActionStatus, ExternalAction, ProviderCredential
from ledger.providers.registry import default_base_url, get_adapter

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


def credential_secret_source(credential: ProviderCredential) -> str:
    """Where the credential's secret is read from, never its value."""
    if get_adapter(credential.provider).signs_with_project_secret:
        return f"the signing secret of project {credential.project.slug}"
    return secret_location(credential.project, credential.secret_name)


def credential_secret(credential: ProviderCredential) -> str:
    """The secret for calls made with ``credential``, or CredentialProblem saying why not."""
    if get_adapter(credential.provider).signs_with_project_secret:
        secret = signing_secret_current(project_id=credential.project_id)
        if not secret:
            slug = credential.project.slug
            raise CredentialProblem(
                "credential_secret_missing",
                f"Project {slug} has no signing secret; an owner makes one with "
                f"`manage.py signingsecret rotate --project {slug}`.",
            )
        return secret
    return _namespaced(credential, credential.secret_name)


def _namespaced(credential: ProviderCredential, name: str) -> str:
    try:
        value = secret_read(credential.project, name)
    except SecretUnavailable as refusal:
        raise CredentialProblem("credential_secret_unavailable", str(refusal)) from None
    if not value:
        raise CredentialProblem(
            "credential_secret_missing",
            f"The {secret_location(credential.project, name)} is not set on the worker.",
        )
    return value


def credential_secret_available(credential: ProviderCredential) -> bool:
    try:
        credential_secret(credential)
    except CredentialProblem:
        return False
    return True


def _rotation(credential: ProviderCredential) -> tuple[int, int, int]:
    """(age, rotate soon after, refuse after) in days."""
    warn, critical = ROTATION_DAYS.get(credential.provider, (90, 180))
    return (timezone.now() - credential.rotated_at).days, warn, critical


def credential_health(credential: ProviderCredential) -> CredentialHealth:
    age, warn, critical = _rotation(credential)
    if not credential.active:
        state = "inactive"
    elif credential.held_reason:
        state = "held"
    elif not credential_secret_available(credential):
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
    """The credential and secret for this action, or CredentialProblem with a clear reason.
    A guard may name the credential (ledger/guards.py credential_for); otherwise the project's
    active one of the ledger's environment."""
    environment = ledger_settings().environment
    named = credential_override(action)
    credentials = ProviderCredential.objects.select_related("project").filter(
        project_id=action.project_id, provider=action.provider, active=True
    )
    if named is not None:
        credential = credentials.filter(pk=named).first()
        if credential is None:
            raise CredentialProblem(
                "credential_missing",
                f"The {action.provider} credential #{named} its guard names is not active in "
                "this project.",
            )
    else:
        credential = credentials.filter(environment=environment).first()
    if credential is None:
        raise CredentialProblem(
            "credential_missing",
            f"No active {action.provider} credential for the {environment} environment.",
        )
    if credential.held_reason:
        raise CredentialProblem("credential_held", f"Credential held: {credential.held_reason}")
    secret = credential_secret(credential)
    age, _warn, critical = _rotation(credential)
    if age >= critical:
        raise CredentialProblem(
            "credential_rotation_overdue",
            f"The credential is {age} days old; rotate it (limit {critical} days).",
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
    if credential.refresh_token_name:
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
    """OAuth refresh_token grant at the adapter's token endpoint, retried a bounded number of
    times. On failure the credential is held, its provider's queued actions are held, and
    operators are told."""
    adapter = get_adapter(credential.provider)
    configured = ledger_settings().base_url(credential.provider)  # the fake provider, say
    base_url = configured or default_base_url(adapter.name)
    refresh_token = _namespaced(credential, credential.refresh_token_name)
    client_secret = credential_secret(credential)
    error = ""
    with outbound_client(timeout=10, allow=(configured,), transport=transport) as client:
        for attempt in range(REFRESH_ATTEMPTS):
            try:
                response = client.post(
                    adapter.token_url(base_url),
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
            except RefusedTarget as refusal:
                error = f"token endpoint refused: {refusal}"
                break  # the address will not become acceptable on retry
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            time.sleep(min(2**attempt * 0.2, 2))
    error = scrub(error, secrets=(refresh_token, client_secret))
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
