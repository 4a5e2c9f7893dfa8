"""Agents propose actions (idempotently), follow them, and in agent mode claim and report them."""

import json

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from autopack_site.actors import actor_for_agents
from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES, error_response, idempotency_key_header
from autopack_site.errors import Conflict, error_body
from autopack_site.faults import fault_point
from autopack_site.redaction import redact
from ledger import selectors, services
from ledger.models import ActionStatus
from ledger.providers.registry import ADAPTERS
from ledger.schemas import (
    ActionIn,
    ActionOut,
    ActionQuery,
    ActionResultIn,
    ActionsExportOut,
    CredentialHealthOut,
    CredentialsHealthOut,
    ExportQuery,
    ProviderActionOut,
    ProviderOut,
    ProvidersOut,
)
from ledger.serializers import action_out, render_answer

WAITING = frozenset(
    {
        ActionStatus.PENDING_APPROVAL,
        ActionStatus.APPROVED,
        ActionStatus.EXECUTING,
        ActionStatus.UNKNOWN,
    }
)

REQUIRED_KEY_HEADER = idempotency_key_header(
    required=True,
    description="1-255 printable ASCII characters. Keys never expire: the ledger is the record.",
)
AGENT_MODE_CONFLICT = error_response(
    "wrong_mode, not_claimable, lease_lost, payload_mismatch, or why the claimed action may not "
    "run (e.g. its approval expired)."
)


class ActionsView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("actions:write",)

    @extend_schema(
        operation_id="actions_propose",
        request=ActionIn,
        parameters=[REQUIRED_KEY_HEADER],
        responses={
            201: OpenApiResponse(ActionOut, description="Recorded with its decision."),
            200: OpenApiResponse(
                ActionOut, description="Replay of the same key and request (Idempotent-Replayed)."
            ),
            **ERROR_RESPONSES,
            400: error_response(
                "idempotency_key_required or idempotency_key_invalid; malformed_json."
            ),
            409: error_response("request_in_progress: the same key is still in progress."),
        },
    )
    def post(self, request):
        key = self.idempotency_key(required=True)
        body = self.parse_body(ActionIn)
        proposal = services.Proposal(**body.model_dump())
        try:
            result = services.action_propose(
                project=self.project,
                key=self.agent_key,
                idempotency_key=key,
                proposal=proposal,
                answer_for=render_answer,
            )
        except Conflict as busy:
            if busy.code != "request_in_progress":
                raise
            return Response(
                error_body(busy.code, busy.message, busy.details),
                status=409,
                headers={"Retry-After": "1"},
            )
        fault_point("proposal_committed")  # chaos tests: the process dies after the commit
        answer = result.action.answer
        # The stored bytes, not a re-rendering: a replay is byte-for-byte the first answer.
        if result.replayed:
            return HttpResponse(
                answer.body,
                status=200,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        return HttpResponse(answer.body, status=answer.status_code, content_type="application/json")


class ActionDetailView(ProjectScopedAPIView):
    @extend_schema(
        operation_id="actions_get",
        parameters=[ActionQuery],
        responses={200: ActionOut, **ERROR_RESPONSES},
    )
    def get(self, request, action_pk: int):
        query = self.parse_query(ActionQuery)
        first_status = None

        def fetch():
            nonlocal first_status
            row = self.get_scoped(selectors.action_get, "action", pk=action_pk)
            first_status = first_status or row.status
            return row

        action = self.long_poll(
            fetch,
            still_waiting=lambda row: row.status == first_status and row.status in WAITING,
            topic=f"action:{action_pk}",
            wait=query.wait,
        )
        return Response(action_out(action).model_dump(mode="json"))


class ActionClaimView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("actions:write",)

    @extend_schema(
        operation_id="actions_claim",
        request=None,
        responses={200: ActionOut, **ERROR_RESPONSES, 409: AGENT_MODE_CONFLICT},
    )
    def post(self, request, action_pk: int):
        action = self.get_scoped(selectors.action_get, "action", pk=action_pk)
        claimed = services.action_agent_claim(action=action, key=self.agent_key)
        return Response(action_out(claimed).model_dump(mode="json"))


class ActionResultView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("actions:write",)

    @extend_schema(
        operation_id="actions_result",
        request=ActionResultIn,
        responses={200: ActionOut, **ERROR_RESPONSES, 409: AGENT_MODE_CONFLICT},
    )
    def post(self, request, action_pk: int):
        action = self.get_scoped(selectors.action_get, "action", pk=action_pk)
        body = self.parse_body(ActionResultIn)
        done = services.action_agent_result(action=action, key=self.agent_key, **body.model_dump())
        return Response(action_out(done).model_dump(mode="json"))


class ActionsExportView(ProjectScopedAPIView):
    @extend_schema(
        operation_id="actions_export",
        parameters=[ExportQuery],
        responses={
            200: OpenApiResponse(ActionsExportOut, description="A JSON array, streamed."),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request):
        query = self.parse_query(ExportQuery)
        rows = selectors.actions_for_export(
            project=self.project, run_id=query.run, since=query.since, until=query.until
        )

        def stream():
            yield "["
            for index, action in enumerate(rows.iterator(chunk_size=500)):
                document = action_out(action).model_dump(mode="json")
                document["events"] = [
                    {
                        "from": event.from_status,
                        "to": event.to_status,
                        "actor": actor_for_agents(event.actor),
                        "detail": event.detail,
                        "at": event.created_at.isoformat(),
                    }
                    for event in action.events.all()
                ]
                yield ("," if index else "") + json.dumps(redact(document))
            yield "]"

        response = StreamingHttpResponse(stream(), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="actions.json"'
        return response


class ProvidersView(ProjectScopedAPIView):
    @extend_schema(operation_id="providers_list", responses={200: ProvidersOut, **ERROR_RESPONSES})
    def get(self, request):
        body = ProvidersOut(
            results=[
                ProviderOut(
                    name=name,
                    dedupes_by_reference=adapter.dedupes_by_reference,
                    actions=[
                        ProviderActionOut(name=action, json_schema=schema.model_json_schema())
                        for action, schema in sorted(adapter.actions.items())
                    ],
                )
                for name, adapter in sorted(ADAPTERS.items())
            ]
        )
        return Response(body.model_dump(mode="json"))


class CredentialsHealthView(ProjectScopedAPIView):
    @extend_schema(
        operation_id="credentials_health",
        responses={200: CredentialsHealthOut, **ERROR_RESPONSES},
    )
    def get(self, request):
        rows = selectors.credentials_for_project(project=self.project)
        body = CredentialsHealthOut(
            results=[CredentialHealthOut(**vars(services.credential_health(row))) for row in rows]
        )
        return Response(body.model_dump(mode="json"))
