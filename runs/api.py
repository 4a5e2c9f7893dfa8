"""Thin views: parse strictly, call a service, serialise."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES, IDEMPOTENCY_KEY_HEADER, error_response
from autopack_site.errors import NotFound
from policies.schemas import PatchListOut, PatchOut, PatchSubmitIn
from runs import selectors, services
from runs.schemas import (
    AttemptOut,
    CheckpointIn,
    ClaimIn,
    ClaimOut,
    CompleteIn,
    HeartbeatIn,
    RunCreateIn,
    RunListOut,
    RunListQuery,
    RunOut,
    UsageEventOut,
    UsageIn,
    UsageTotalsOut,
)
from runs.serializers import (
    attempt_out,
    patch_out,
    phase_out,
    run_export_document,
    run_out,
    run_summary_out,
    usage_event_out,
)

LEASE_LOST = error_response("lease_lost: the lease expired or was taken away.")


class RunsView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("runs:write",)

    @extend_schema(
        operation_id="runs_list",
        parameters=[RunListQuery],
        responses={200: RunListOut, **ERROR_RESPONSES},
    )
    def get(self, request):
        query = self.parse_query(RunListQuery)
        page, next_before = self.keyset_page(
            selectors.runs_for_project(project=self.project, status=query.status),
            before=query.before,
            limit=query.limit,
        )
        body = RunListOut(
            results=[run_summary_out(run) for run in page],
            next_before=next_before,
        )
        return Response(body.model_dump(mode="json"))

    @extend_schema(
        operation_id="runs_create",
        request=RunCreateIn,
        responses={
            201: RunOut,
            200: OpenApiResponse(
                RunOut, description="Replay: the run already exists, same config."
            ),
            **ERROR_RESPONSES,
            409: error_response("config_drift: same run, different config."),
        },
    )
    def post(self, request):
        body = self.parse_body(RunCreateIn)
        run, created = services.run_create(
            project=self.project,
            family=body.family,
            run_id=body.run_id,
            config=body.config,
            phases=[
                services.PhaseSpec(
                    key=p.key,
                    name=p.name,
                    depends_on=tuple(p.depends_on),
                    max_attempts=p.max_attempts,
                )
                for p in body.phases
            ],
            created_by_key=self.agent_key,
        )
        detailed = selectors.run_get_detailed(project=self.project, run_pk=run.pk)
        return Response(
            run_out(detailed).model_dump(mode="json"),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class RunDetailView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("runs:write",)

    @extend_schema(operation_id="runs_retrieve", responses={200: RunOut, **ERROR_RESPONSES})
    def get(self, request, run_pk: int):
        run = self.get_scoped(selectors.run_get_detailed, "run", run_pk=run_pk)
        return Response(run_out(run, usage=selectors.usage_totals(run=run)).model_dump(mode="json"))


class RunClaimView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("runs:write",)

    @extend_schema(
        operation_id="runs_claim",
        request=ClaimIn,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={
            200: ClaimOut,
            204: OpenApiResponse(description="No phase is ready (or the run is not active)."),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request, run_pk: int):
        run = self.get_scoped(selectors.run_get, "run", run_pk=run_pk)
        body = self.parse_body(ClaimIn)
        result = services.phase_claim_next(
            run=run,
            claimed_by_key=self.agent_key,
            lease_seconds=body.lease_seconds,
            idempotency_key=self.idempotency_key(required=False),
        )
        if result.attempt is None:
            return Response(
                status=status.HTTP_204_NO_CONTENT,
                headers={"X-Autopack-Run-Status": result.run_status},
            )
        phase = result.attempt.phase
        body_out = ClaimOut(
            attempt=attempt_out(result.attempt, phase.key),
            phase=phase_out(phase, depends_on=selectors.phase_dependency_keys(phase=phase)),
            resume_checkpoint=result.resume_checkpoint,
            replayed=result.replayed,
        )
        return Response(body_out.model_dump(mode="json"))


class _AttemptView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("runs:write",)

    def attempt(self, attempt_pk: int):
        return self.get_scoped(selectors.attempt_get, "attempt", attempt_pk=attempt_pk)


class AttemptCompleteView(_AttemptView):
    @extend_schema(
        operation_id="attempts_complete",
        request=CompleteIn,
        responses={
            200: AttemptOut,
            **ERROR_RESPONSES,
            409: error_response(
                "lease_lost: the lease expired or was taken away; illegal_transition."
            ),
        },
    )
    def post(self, request, attempt_pk: int):
        attempt = self.attempt(attempt_pk)
        body = self.parse_body(CompleteIn)
        result = services.attempt_complete(
            attempt=attempt,
            outcome=body.outcome,
            error_type=body.error_type,
            error_message=body.error_message,
            checkpoint=body.checkpoint,
            completed_by_key=self.agent_key,
        )
        return Response(
            attempt_out(result.attempt, result.attempt.phase.key).model_dump(mode="json"),
            headers={"Idempotent-Replayed": "true"} if result.replayed else {},
        )


class AttemptHeartbeatView(_AttemptView):
    @extend_schema(
        operation_id="attempts_heartbeat",
        request=HeartbeatIn,
        responses={200: AttemptOut, **ERROR_RESPONSES, 409: LEASE_LOST},
    )
    def post(self, request, attempt_pk: int):
        attempt = self.attempt(attempt_pk)
        body = self.parse_body(HeartbeatIn)
        attempt = services.attempt_heartbeat(attempt=attempt, lease_seconds=body.lease_seconds)
        return Response(attempt_out(attempt, attempt.phase.key).model_dump(mode="json"))


class AttemptCheckpointView(_AttemptView):
    @extend_schema(
        operation_id="attempts_checkpoint",
        request=CheckpointIn,
        responses={200: AttemptOut, **ERROR_RESPONSES, 409: LEASE_LOST},
    )
    def post(self, request, attempt_pk: int):
        attempt = self.attempt(attempt_pk)
        body = self.parse_body(CheckpointIn)
        attempt = services.attempt_checkpoint(attempt=attempt, checkpoint=body.checkpoint)
        return Response(attempt_out(attempt, attempt.phase.key).model_dump(mode="json"))


class RunUsageView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("runs:write",)

    @extend_schema(
        operation_id="runs_usage_totals", responses={200: UsageTotalsOut, **ERROR_RESPONSES}
    )
    def get(self, request, run_pk: int):
        run = self.get_scoped(selectors.run_get, "run", run_pk=run_pk)
        return Response(UsageTotalsOut.model_validate(selectors.usage_totals(run=run)).model_dump())

    @extend_schema(
        operation_id="runs_usage_record",
        request=UsageIn,
        responses={201: UsageEventOut, **ERROR_RESPONSES},
    )
    def post(self, request, run_pk: int):
        run = self.get_scoped(selectors.run_get, "run", run_pk=run_pk)
        body = self.parse_body(UsageIn)
        attempt = None
        if body.attempt is not None:
            attempt = selectors.attempt_get(project=self.project, attempt_pk=body.attempt)
            if attempt is None or attempt.run_id != run.pk:
                raise NotFound("No such attempt in this run.")
        event = services.usage_record(
            run=run,
            attempt=attempt,
            provider=body.provider,
            model=body.model,
            tokens_in=body.tokens_in,
            tokens_out=body.tokens_out,
            cost_usd=body.cost_usd,
        )
        return Response(usage_event_out(event).model_dump(mode="json"), status=201)


class RunExportView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("runs:write",)

    @extend_schema(
        operation_id="runs_export",
        responses={
            200: OpenApiResponse(description="The run as one JSON document."),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, run_pk: int):
        run = self.get_scoped(selectors.run_get_detailed, "run", run_pk=run_pk)
        document = run_export_document(
            run,
            usage=selectors.usage_totals(run=run),
            usage_events=selectors.usage_events_for_run(run=run),
            events=selectors.events_for_run(run=run),
        )
        return Response(
            document,
            headers={
                "Content-Disposition": f'attachment; filename="run-{run_pk}.json"',
            },
        )


class RunPatchesView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("runs:write",)

    @extend_schema(
        operation_id="runs_patches_submit",
        request=PatchSubmitIn,
        responses={
            201: OpenApiResponse(PatchOut, description="Stored with its decision."),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request, run_pk: int):
        run = self.get_scoped(selectors.run_get, "run", run_pk=run_pk)
        body = self.parse_body(PatchSubmitIn)
        patch = services.patch_submit(
            run=run,
            diff_text=body.diff,
            submitted_by_key=self.agent_key,
            phase_key=body.phase,
            title=body.title,
            callback_url=body.callback_url,
        )
        return Response(patch_out(patch).model_dump(mode="json"), status=201)

    @extend_schema(
        operation_id="runs_patches_list", responses={200: PatchListOut, **ERROR_RESPONSES}
    )
    def get(self, request, run_pk: int):
        run = self.get_scoped(selectors.run_get, "run", run_pk=run_pk)
        patches = selectors.patches_for_run(run=run)
        return Response(
            PatchListOut(results=[patch_out(p) for p in patches]).model_dump(mode="json")
        )
