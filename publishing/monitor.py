"""The provider policy monitor: fetches each enabled source over HTTP through the pinned
outbound client (autopack_site/outbound.py) - never inside a transaction - with conditional
requests (ETag / Last-Modified), a timeout and jittered intervals; extracts and normalises the
text; stores a snapshot when the text changed; opens a PolicyChange with a unified diff against
the last acknowledged snapshot; counts failures and alerts an operator after several in a row.
An operator acknowledges a change by name, with a note; the ledger's held actions are then
looked at again at once (ledger.tasks.actions_release_guarded). If the project's advisory
reviewer is on, each new change is also summarised in plain language for that operator, after
the commit (publishing/policy_summary.py); acknowledging never waits for or reads it."""

import difflib
import logging
import random
from datetime import datetime

import httpx
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from autopack_site.actors import SYSTEM, actor_of_user
from autopack_site.canonical import sha256_of
from autopack_site.errors import Forbidden, Unprocessable
from autopack_site.models import Project
from autopack_site.outbound import RefusedTarget, outbound_client
from autopack_site.outbox import outbox_send
from autopack_site.redaction import scrub
from autopack_site.roles import Capability, role_allows
from publishing.conf import publishing_settings
from publishing.extract import SelectorError, extract_text
from publishing.models import (
    PolicyChange,
    PolicyChangeStatus,
    PolicySnapshot,
    PolicySource,
)
from publishing.policy_summary import summary_enqueue
from publishing.presets import PRESETS
from publishing.transitions import POLICY_CHANGE

logger = logging.getLogger(__name__)
RELEASE_TASK = "ledger.tasks.actions_release_guarded"
MAX_BYTES = 2_000_000


class FetchFailed(Exception):
    pass


def _next_fetch(now: datetime):
    every = publishing_settings().fetch_every
    # jitter, so sources are never fetched in lockstep; it guards nothing:
    return now + every * random.uniform(0.85, 1.15)  # nosec B311


def _retry_at(now: datetime, failures: int):
    every = publishing_settings().fetch_every
    delay = min(every, every / 24 * (2 ** min(failures, 6)))
    # jitter, as above:
    return now + delay * random.uniform(0.5, 1.0)  # nosec B311


def _fetch(source: PolicySource) -> tuple[int, str, dict[str, str]]:
    """One conditional GET; (status, text, headers). Raises FetchFailed."""
    headers = {"User-Agent": "Autopack policy monitor", "Accept": "text/html, text/plain"}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    try:
        with outbound_client(timeout=publishing_settings().fetch_timeout) as client:
            response = client.get(source.url, headers=headers)
    except RefusedTarget as refusal:
        raise FetchFailed(f"refused: {refusal}") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}") from None
    if response.status_code == 304:
        return 304, "", dict(response.headers)
    if response.status_code != 200:
        raise FetchFailed(f"HTTP {response.status_code}")
    if len(response.content) > MAX_BYTES:
        raise FetchFailed(f"the page is larger than {MAX_BYTES} bytes")
    content_type = response.headers.get("Content-Type", "")
    try:
        if "html" in content_type or response.text.lstrip().startswith("<"):
            text = extract_text(response.text, source.selector)
        else:  # plain text: the same normalisation, no markup to read
            lines = (" ".join(line.split()) for line in response.text.splitlines())
            text = "\n".join(line for line in lines if line)
    except SelectorError as exc:
        raise FetchFailed(str(exc)) from None
    if not text:
        raise FetchFailed("no text found" + (f" at {source.selector!r}" if source.selector else ""))
    return 200, text, dict(response.headers)


def policy_source_fetch(source_id: int, *, now: datetime | None = None) -> str:
    """Fetches one source (outside any transaction) and records what came back. Returns
    "changed", "unchanged", "not_modified" or "failed"."""
    source = PolicySource.objects.get(pk=source_id)
    try:
        status, text, headers = _fetch(source)
    except FetchFailed as failure:
        return _record_failure(source_id, scrub(str(failure))[:500], now=now)
    return _record_success(source_id, status, text, headers, now=now)


def _record_failure(source_id: int, error: str, *, now=None) -> str:
    now = now or timezone.now()
    threshold = publishing_settings().alert_after_failures
    with transaction.atomic():
        source = PolicySource.objects.select_for_update().get(pk=source_id)
        failures = source.consecutive_failures + 1
        PolicySource.objects.filter(pk=source_id).update(
            consecutive_failures=F("consecutive_failures") + 1,
            last_error=error,
            last_attempt_at=now,
            next_fetch_at=_retry_at(now, failures),
        )
        if failures >= threshold and source.alerted_at is None:
            PolicySource.objects.filter(pk=source_id).update(alerted_at=now)
            logger.error(
                "policy source failing",
                extra={
                    "source": source_id,
                    "project": source.project_id,
                    "provider": source.provider,
                    "failures": failures,
                    "error": error,
                },
            )
            outbox_send("publishing.tasks.policy_source_alert", source_id)
    return "failed"


def _record_success(source_id: int, status: int, text: str, headers, *, now=None) -> str:
    now = now or timezone.now()
    outcome = "not_modified"
    with transaction.atomic():
        source = PolicySource.objects.select_for_update().get(pk=source_id)
        fields = {
            "consecutive_failures": 0,
            "last_error": "",
            "alerted_at": None,
            "last_attempt_at": now,
            "last_success_at": now,
            "next_fetch_at": _next_fetch(now),
        }
        if status == 200:
            fields["etag"] = (headers.get("etag") or "")[:300]
            fields["last_modified"] = (headers.get("last-modified") or "")[:100]
            outcome = _store(source, text)
        elif not source.snapshots.exists():
            # a 304 without anything stored (validators from an old row): ask in full next time
            fields.update(etag="", last_modified="", next_fetch_at=now)
            fields.pop("last_success_at")
        PolicySource.objects.filter(pk=source_id).update(**fields)
        outbox_send(RELEASE_TASK)  # a fresh source may open a gate
    return outcome


def _acknowledged_snapshot(source: PolicySource) -> PolicySnapshot | None:
    change = (
        PolicyChange.objects.filter(source=source, status=PolicyChangeStatus.ACKNOWLEDGED)
        .select_related("snapshot")
        .order_by("-acknowledged_at", "-id")
        .first()
    )
    return change.snapshot if change else None


def _store(source: PolicySource, text: str) -> str:
    """Inside the caller's transaction, the source locked."""
    digest = sha256_of({"text": text})
    latest = source.snapshots.order_by("-fetched_at", "-id").first()
    if latest is not None and latest.content_hash == digest:
        return "unchanged"
    snapshot = PolicySnapshot.objects.create(source=source, text=text, content_hash=digest)
    baseline = _acknowledged_snapshot(source)
    pending = POLICY_CHANGE.lock_all(
        PolicyChange.objects.filter(source=source, status=PolicyChangeStatus.PENDING)
    )
    for change in pending:
        POLICY_CHANGE.move(
            change, PolicyChangeStatus.SUPERSEDED, actor=SYSTEM, reason="a newer change"
        )
    if baseline is not None and baseline.content_hash == digest:
        return "changed"  # back to the acknowledged text: nothing new to read
    old = baseline.text.splitlines() if baseline else []
    diff = "\n".join(
        difflib.unified_diff(
            old,
            text.splitlines(),
            fromfile=f"acknowledged {baseline.fetched_at:%Y-%m-%d %H:%M}" if baseline else "none",
            tofile=f"fetched {snapshot.fetched_at:%Y-%m-%d %H:%M}",
            lineterm="",
        )
    )
    change = POLICY_CHANGE.create(
        PolicyChange(
            project_id=source.project_id,
            source=source,
            baseline=baseline,
            snapshot=snapshot,
            diff=diff,
        ),
        status=PolicyChangeStatus.PENDING,
        actor=SYSTEM,
        reason="first snapshot" if baseline is None else "the text changed",
    )
    summary_enqueue(change)  # advice, asked for after the commit; acknowledging never waits
    return "changed"


def policy_sources_fetch_due(*, now: datetime | None = None, limit: int = 50) -> dict[str, int]:
    """The schedule: every enabled source that is due, one by one, outside any transaction."""
    now = now or timezone.now()
    due = list(
        PolicySource.objects.filter(enabled=True)
        .filter(Q(next_fetch_at__isnull=True) | Q(next_fetch_at__lte=now))
        .order_by("next_fetch_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {}
    for pk in due:
        outcome = policy_source_fetch(pk)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def policy_change_acknowledge(*, change_id: int, user: AbstractBaseUser, note: str) -> PolicyChange:
    """A named operator (``supervise_publishing``) has read the change; the note says what it
    means for the project. Held publishing actions are looked at again at once."""
    note = (note or "").strip()
    if not note:
        raise Unprocessable("Acknowledging a policy change needs a note.", code="note_required")
    with transaction.atomic():
        change = POLICY_CHANGE.lock(change_id)
        if not role_allows(user, change.project_id, Capability.SUPERVISE_PUBLISHING):
            raise Forbidden(
                "Only who supervises publishing in this project acknowledges its policy changes.",
                code="not_allowed",
            )
        actor = actor_of_user(user)
        POLICY_CHANGE.move(
            change,
            PolicyChangeStatus.ACKNOWLEDGED,
            actor=actor,
            reason=note[:500],
            acknowledged_by=actor[:200],
            note=note,
            acknowledged_at=timezone.now(),
        )
        outbox_send(RELEASE_TASK)
    return change


def policy_sources_install_presets(*, project: Project, provider: str) -> list[PolicySource]:
    """The provider's preset sources for the project (those it has not got yet, by name)."""
    if provider not in PRESETS:
        raise Unprocessable(f"No presets for {provider!r}.", code="unknown_provider")
    created = []
    for preset in PRESETS[provider]:
        source, made = PolicySource.objects.get_or_create(
            project=project, provider=provider, name=preset["name"], defaults=preset
        )
        if made:
            created.append(source)
    return created
