"""Patch governance: parse the diff, decide under the project's policy, ask humans if needed."""

from django.db import transaction

from approvals.models import ApprovalKind
from approvals.services import approval_request_for_decision
from autopack_site.actors import actor_of_key
from autopack_site.errors import Unprocessable
from autopack_site.models import AgentKey
from policies.engine import PatchParseError, parse_patch
from policies.services import patch_decide
from runs.models import Patch, Phase, Run


def _is_first_run(run: Run) -> bool:
    return not Run.objects.filter(project_id=run.project_id, pk__lt=run.pk).exists()


def patch_submit(
    *,
    run: Run,
    diff_text: str,
    submitted_by_key: AgentKey | None,
    phase_key: str | None = None,
    title: str = "",
    callback_url: str = "",
) -> Patch:
    """Stores the patch with its decision; a require_approval outcome opens an approval request
    bound to the diff's SHA-256, superseding an older pending request for the same run/phase."""
    phase = None
    if phase_key:
        phase = Phase.objects.filter(run=run, key=phase_key).first()
        if phase is None:
            raise Unprocessable(f"Run has no phase {phase_key!r}.", code="unknown_phase")
    try:
        parsed = parse_patch(diff_text)
    except PatchParseError as exc:
        raise Unprocessable(
            f"The diff could not be parsed: {exc}",
            code="invalid_diff",
            details={"reason": str(exc)},
        ) from None
    requester = actor_of_key(submitted_by_key)
    decision = patch_decide(
        project=run.project, patch=parsed, first_run=_is_first_run(run), requester=requester
    )
    body = decision.to_dict()
    files = body.get("files", [])
    with transaction.atomic():
        patch = Patch.objects.create(
            run=run,
            phase=phase,
            diff_text=diff_text,
            diff_sha256=parsed.sha256,
            files=files,
            lines_added=parsed.lines_added,
            lines_removed=parsed.lines_removed,
            risk_score=body["risk"]["score"],
            outcome=body["outcome"],
            decision=body,
            submitted_by_key=submitted_by_key,
        )
        if body["outcome"] == "require_approval":
            patch.approval = approval_request_for_decision(
                project=run.project,
                kind=ApprovalKind.PATCH,
                subject=f"run:{run.pk}:patch:{phase_key or '-'}",
                target_id=patch.pk,
                title=title or f"Patch for {run} ({len(parsed.files)} files)",
                payload={
                    "run": run.pk,
                    "phase": phase_key,
                    "diff_sha256": parsed.sha256,
                    "diff": diff_text,
                },
                decision=body,
                requested_by_key=submitted_by_key,
                callback_url=callback_url,
            )
            patch.save(update_fields=["approval"])
    return patch
