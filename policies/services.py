"""Writes for policies (save with a revision) and decisions (decide, then log)."""

import time
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from typing import Any

import pydantic
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from autopack_site.canonical import sha256_of
from autopack_site.errors import Conflict, Unprocessable
from autopack_site.models import Project
from autopack_site.redaction import redact
from policies.compiled import compiled_policy_for
from policies.engine import (
    TEMPLATES,
    ActionRequest,
    CompiledPolicy,
    Decision,
    ParsedPatch,
    PatchDecision,
    PolicyValidationError,
    compile_policy,
    decide_action,
    decide_patch,
)
from policies.models import (
    ActionRule,
    DecisionKind,
    DecisionLog,
    GovernancePolicy,
    PathRule,
    PolicyRevision,
)
from policies.schemas import PolicySnapshot
from policies.snapshots import (
    SETTING_FIELDS,
    snapshot_diff,
    snapshot_from_spec,
    snapshot_of,
    spec_from_snapshot,
)


def policy_validate_snapshot(snapshot: dict[str, Any]) -> PolicySnapshot:
    """Refuses a snapshot the engine could not compile, with field paths (422)."""
    try:
        validated = PolicySnapshot.model_validate(snapshot)
    except pydantic.ValidationError as exc:
        from autopack_site.errors import pydantic_error_details

        raise Unprocessable(
            "The policy is not valid.", details=pydantic_error_details(exc)
        ) from None
    try:
        compile_policy(spec_from_snapshot(validated, version=0))
    except (PolicyValidationError, ValueError) as exc:
        errors = getattr(exc, "errors", None) or [str(exc)]
        raise Unprocessable(
            f"The policy is not valid: {exc}", details={"errors": [str(e) for e in errors]}
        ) from None
    return validated


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise Unprocessable("Say why the policy changes.", code="reason_required")


def _record_revision_locked(
    *,
    policy: GovernancePolicy,
    editor: User | None,
    reason: str,
    bump: bool,
    extra_diff: tuple[dict[str, Any], ...] = (),
) -> PolicyRevision:
    snapshot = snapshot_of(policy)
    policy_validate_snapshot(snapshot)
    previous = policy.revisions.order_by("-version").first()
    if bump and previous is not None:
        policy.version = previous.version + 1
    policy.updated_by = editor
    policy.save(update_fields=["version", "enabled", "updated_by", "updated_at"])
    return PolicyRevision.objects.create(
        policy=policy,
        version=policy.version,
        editor=editor,
        reason=reason[:500],
        snapshot=snapshot,
        diff=[*extra_diff, *snapshot_diff(previous.snapshot if previous else None, snapshot)],
    )


def policy_record_revision(
    *, policy: GovernancePolicy, editor: User | None, reason: str
) -> PolicyRevision:
    """After the admin saved the policy row and its rule inlines: validate, bump, keep history."""
    _require_reason(reason)
    with transaction.atomic():
        locked = GovernancePolicy.objects.select_for_update().get(pk=policy.pk)
        return _record_revision_locked(policy=locked, editor=editor, reason=reason, bump=True)


def _policy_set_enabled(
    *, policy: GovernancePolicy, enabled: bool, editor: User | None, reason: str
) -> GovernancePolicy:
    _require_reason(reason)
    with transaction.atomic():
        locked = GovernancePolicy.objects.select_for_update().get(pk=policy.pk)
        if locked.enabled == enabled:
            state = "enabled" if enabled else "disabled"
            raise Conflict(f"{locked} is already {state}.", code=f"policy_already_{state}")
        locked.enabled = enabled
        change = {"change": "setting", "field": "enabled", "from": not enabled, "to": enabled}
        _record_revision_locked(
            policy=locked, editor=editor, reason=reason, bump=True, extra_diff=(change,)
        )
    return locked


def policy_disable(
    *, policy: GovernancePolicy, editor: User | None, reason: str
) -> GovernancePolicy:
    """Policies are never deleted. A disabled one decides like no policy: everything needs a
    human. A new version and a revision record who disabled it and why."""
    return _policy_set_enabled(policy=policy, enabled=False, editor=editor, reason=reason)


def policy_enable(
    *, policy: GovernancePolicy, editor: User | None, reason: str
) -> GovernancePolicy:
    return _policy_set_enabled(policy=policy, enabled=True, editor=editor, reason=reason)


def policy_save_snapshot(
    *,
    project: Project,
    snapshot: dict[str, Any],
    editor: User | None,
    reason: str,
) -> GovernancePolicy:
    """Replaces the project's policy with ``snapshot`` (creating it on first save)."""
    _require_reason(reason)
    data = policy_validate_snapshot(snapshot)
    with transaction.atomic():
        existing = GovernancePolicy.objects.select_for_update().filter(project=project).first()
        created = existing is None
        policy = GovernancePolicy(project=project) if existing is None else existing
        for field in SETTING_FIELDS:
            setattr(policy, field, getattr(data, field))
        policy.save()
        policy.path_rules.all().delete()
        policy.action_rules.all().delete()
        PathRule.objects.bulk_create(
            [
                PathRule(policy=policy, category=category, pattern=pattern)
                for category, patterns in data.path_rules.model_dump().items()
                for pattern in dict.fromkeys(patterns)
            ]
        )
        ActionRule.objects.bulk_create(
            [ActionRule(policy=policy, **rule.model_dump()) for rule in data.action_rules]
        )
        _record_revision_locked(policy=policy, editor=editor, reason=reason, bump=not created)
    return policy


def policy_apply_template(
    *, project: Project, template: str, editor: User | None, reason: str = ""
) -> GovernancePolicy:
    """Replaces the project's policy with one of the engine's templates (a new version)."""
    if template not in TEMPLATES:
        raise Unprocessable(
            f"Unknown policy template {template!r}.",
            code="unknown_template",
            details={"allowed": sorted(TEMPLATES)},
        )
    return policy_save_snapshot(
        project=project,
        snapshot=snapshot_from_spec(TEMPLATES[template]),
        editor=editor,
        reason=reason or f"applied the {template!r} template",
    )


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _log_row(
    *,
    project: Project,
    kind: str,
    question: dict[str, Any],
    decision: dict[str, Any],
    duration_us: int,
    requester: str,
) -> DecisionLog:
    return DecisionLog(
        project=project,
        kind=kind,
        policy_version=decision["policy_version"],
        input_redacted=redact(question),
        input_hash=sha256_of(question),
        outcome=decision["outcome"],
        reasons=decision.get("reasons", []),
        matched_rules=decision.get("matched_rules", []),
        risk_score=decision.get("risk", {}).get("score", 0.0),
        duration_us=duration_us,
        requester=requester[:200],
    )


def action_decision(
    *,
    project: Project,
    provider: str,
    action: str,
    amount: Decimal | None = None,
    dry_run_done: bool = False,
    publish_packet_approved: bool = False,
    provider_policy_fresh: bool | None = None,
    denials: tuple[tuple[str, str], ...] = (),
    approvals_needed: tuple[tuple[str, str], ...] = (),
    requester: str,
    policy: CompiledPolicy | None = None,
) -> tuple[Decision, DecisionLog]:
    """Decides one proposed action under the project's current policy (or ``policy``, already
    looked up by the caller). The log row comes back unsaved, for the caller to write with the
    state it explains."""
    policy = policy or compiled_policy_for(project)
    request = ActionRequest(
        provider=provider,
        action=action,
        amount=amount,
        dry_run_done=dry_run_done,
        publish_packet_approved=publish_packet_approved,
        provider_policy_fresh=provider_policy_fresh,
        now=timezone.now(),
        denials=tuple(denials),
        approvals_needed=tuple(approvals_needed),
    )
    started = time.perf_counter_ns()
    decision = decide_action(policy, request)
    duration_us = (time.perf_counter_ns() - started) // 1000
    question = _plain(request)
    question.pop("now", None)
    log_row = _log_row(
        project=project,
        kind=DecisionKind.ACTION,
        question=question,
        decision=decision.to_dict(),
        duration_us=duration_us,
        requester=requester,
    )
    return decision, log_row


def action_decide(*, log: bool = True, **question: Any) -> Decision:
    """`action_decision`, logged (unless ``log`` is False)."""
    decision, log_row = action_decision(**question)
    if log:
        log_row.save()
    return decision


def patch_decide(
    *,
    project: Project,
    patch: ParsedPatch,
    first_run: bool,
    requester: str,
    log: bool = True,
) -> PatchDecision:
    policy = compiled_policy_for(project)
    started = time.perf_counter_ns()
    decision = decide_patch(policy, patch, first_run=first_run)
    duration_us = (time.perf_counter_ns() - started) // 1000
    if log:
        question = {
            "diff_sha256": patch.sha256,
            "first_run": first_run,
            "files": [_plain(changed) for changed in patch.files],
        }
        _log_row(
            project=project,
            kind=DecisionKind.PATCH,
            question=question,
            decision=decision.to_dict(),
            duration_us=duration_us,
            requester=requester,
        ).save()
    return decision
