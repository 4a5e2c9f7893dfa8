"""Thin views: parse strictly, call a service, serialise."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from artifacts import selectors
from artifacts.contracts import HandoffOutputIn
from artifacts.schemas import (
    ArtifactListOut,
    ArtifactListQuery,
    ArtifactOut,
    ArtifactUploadIn,
    ContextOut,
    ContextQuery,
    HandoffBriefIn,
    HandoffOut,
)
from artifacts.serializers import artifact_out, handoff_out
from artifacts.services import handoffs
from artifacts.services.ingest import artifact_upload
from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.inputs import check_query
from autopack_site.api.openapi import ERROR_RESPONSES, error_response
from autopack_site.canonical import sha256_of
from autopack_site.errors import Unprocessable
from runs.selectors import run_get

UPLOAD_FORM = inline_serializer(
    name="ArtifactUploadForm",
    fields={
        "file": serializers.FileField(),
        "artifact_class": serializers.ChoiceField(
            choices=ArtifactUploadIn.model_fields["artifact_class"].annotation.__args__
        ),
        "sha256": serializers.RegexField(r"^[0-9a-fA-F]{64}$"),
        "name": serializers.CharField(required=False, max_length=300),
    },
)


class RunArtifactsView(ProjectScopedAPIView):
    read_scopes = ("read",)
    write_scopes = ("runs:write",)
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(
        operation_id="artifacts_list",
        parameters=[ArtifactListQuery],
        responses={200: ArtifactListOut, **ERROR_RESPONSES},
    )
    def get(self, request, run_pk: int):
        run = self.get_scoped(run_get, "run", run_pk=run_pk)
        query = self.parse_query(ArtifactListQuery)
        page, next_before = self.keyset_page(
            selectors.artifacts_for_run(project=self.project, run=run),
            before=query.before,
            limit=query.limit,
        )
        body = ArtifactListOut(results=[artifact_out(a) for a in page], next_before=next_before)
        return Response(body.model_dump(mode="json"))

    @extend_schema(
        operation_id="artifacts_upload",
        request={"multipart/form-data": UPLOAD_FORM},
        responses={
            201: ArtifactOut,
            200: OpenApiResponse(ArtifactOut, description="Replay: same name, same bytes."),
            **ERROR_RESPONSES,
            409: error_response("artifact_exists: the name is taken by other content or class."),
            413: error_response("artifact_too_large: past AUTOPACK_ARTIFACT_MAX_BYTES."),
        },
    )
    def post(self, request, run_pk: int):
        run = self.get_scoped(run_get, "run", run_pk=run_pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise Unprocessable(
                "The multipart form needs a file field named 'file'.",
                details={"fields": [{"path": "file", "message": "Field required"}]},
            )
        fields = {key: value for key, value in request.data.items() if key != "file"}
        check_query(fields)
        form = ArtifactUploadIn.model_validate(fields)
        artifact, created = artifact_upload(
            run=run,
            name=form.name or upload.name,
            artifact_class=form.artifact_class,
            data=upload.read(),
            sha256=form.sha256,
            content_type=upload.content_type or "",
            key=self.agent_key,
            actor=self.agent_key.actor_label,
        )
        return Response(
            artifact_out(artifact).model_dump(mode="json"),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ArtifactDownloadView(ProjectScopedAPIView):
    read_scopes = ("read",)

    @extend_schema(
        operation_id="artifacts_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                bytes,
                description="The bytes as stored (redacted, decrypted). X-Artifact-Redacted "
                "says whether anything was masked, X-Artifact-Redaction-Count how much.",
            ),
            **ERROR_RESPONSES,
            409: error_response(
                "artifact_deleted: removed by retention; artifact_expired: past its retention, "
                "not yet removed."
            ),
            503: error_response(
                "artifact_unreadable: no configured key opens it, its file is missing, or it "
                "does not match its hash."
            ),
        },
    )
    def get(self, request, artifact_pk: int):
        artifact = self.get_scoped(selectors.artifact_get, "artifact", artifact_pk=artifact_pk)
        data = selectors.artifact_content(artifact)
        filename = artifact.name.rsplit("/", 1)[-1]
        response = HttpResponse(data, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["X-Artifact-Class"] = artifact.artifact_class
        response["X-Artifact-Redacted"] = "true" if artifact.redacted else "false"
        response["X-Artifact-Redaction-Count"] = str(artifact.redaction_count)
        response["X-Artifact-Sha256"] = artifact.sha256
        return response


# --- handoffs -------------------------------------------------------------------------------
# A sub-agent's key holds handoff:write and nothing else: it reads the context and its brief
# and submits answers; every other endpoint answers it 403.


class RunHandoffContextView(ProjectScopedAPIView):
    read_scopes = ("read", "handoff:write")

    @extend_schema(
        operation_id="handoffs_context",
        parameters=[ContextQuery],
        responses={
            200: ContextOut,
            (200, "text/markdown"): OpenApiResponse(str, description="render=markdown"),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, run_pk: int):
        run = self.get_scoped(run_get, "run", run_pk=run_pk)
        query = self.parse_query(ContextQuery)
        document = handoffs.context_document(run)
        artifact = handoffs.context_store(
            run, document, key=self.agent_key, actor=self.agent_key.actor_label
        )
        if query.render == "markdown":
            response = HttpResponse(
                handoffs.context_markdown(document), content_type="text/markdown; charset=utf-8"
            )
            response["X-Context-Sha256"] = sha256_of(document)
            return response
        body = ContextOut(document=document, sha256=sha256_of(document), artifact_id=artifact.pk)
        return Response(body.model_dump(mode="json"))


class RunHandoffBriefsView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("runs:write",)

    @extend_schema(
        operation_id="handoffs_brief",
        request=HandoffBriefIn,
        responses={201: HandoffOut, **ERROR_RESPONSES},
    )
    def post(self, request, run_pk: int):
        run = self.get_scoped(run_get, "run", run_pk=run_pk)
        body = self.parse_body(HandoffBriefIn)
        handoff = handoffs.handoff_brief_create(
            run=run,
            kind=body.kind,
            strict=body.strict,
            instructions=body.instructions,
            key=self.agent_key,
            actor=self.agent_key.actor_label,
        )
        return Response(handoff_out(handoff).model_dump(mode="json"), status=201)


class RunHandoffsView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("handoff:write", "runs:write")

    @extend_schema(
        operation_id="handoffs_submit",
        request=HandoffOutputIn,
        responses={
            200: HandoffOut,
            **ERROR_RESPONSES,
            409: error_response("illegal_transition: the brief was answered or cancelled."),
            422: error_response(
                "handoff_refused: details.problems lists every reason (missing_section, "
                "too_long, file_outside_run, file_missing, secret_in_output, "
                "side_effect_language in strict mode)."
            ),
        },
    )
    def post(self, request, run_pk: int):
        run = self.get_scoped(run_get, "run", run_pk=run_pk)
        body = self.parse_body(HandoffOutputIn)
        handoff = handoffs.handoff_submit(
            run=run, output=body, key=self.agent_key, actor=self.agent_key.actor_label
        )
        return Response(handoff_out(handoff).model_dump(mode="json"))


class HandoffDetailView(ProjectScopedAPIView):
    read_scopes = ("read", "handoff:write")

    @extend_schema(operation_id="handoffs_retrieve", responses={200: HandoffOut, **ERROR_RESPONSES})
    def get(self, request, handoff_pk: int):
        handoff = self.get_scoped(selectors.handoff_get, "handoff", handoff_pk=handoff_pk)
        return Response(handoff_out(handoff).model_dump(mode="json"))
