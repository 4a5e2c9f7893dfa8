"""Agents submit and edit publish packets, read a provider's policy gate, and engage (never
release) the emergency switch."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES, error_response
from autopack_site.errors import NotFound
from publishing import selectors
from publishing.conf import PUBLISHING_ACTIONS
from publishing.packets import PacketContent, packet_create, packet_edit
from publishing.schemas import GateOut, PacketIn, PacketOut, SwitchesOut, SwitchIn
from publishing.serializers import gate_out, packet_out, switch_out
from publishing.switch import emergency_switch_engage


def _content(body: PacketIn) -> PacketContent:
    return PacketContent(
        provider=body.provider,
        action=body.action,
        title=body.title,
        description=body.description,
        tags=list(body.tags),
        media=[m.model_dump() for m in body.media],
        ai_generated=body.ai_generated,
        target=body.target,
    )


class PacketsView(ProjectScopedAPIView):
    write_scopes = ("actions:write",)

    @extend_schema(
        operation_id="publish_packets_create",
        request=PacketIn,
        responses={
            201: OpenApiResponse(PacketOut, description="Checked, hashed, sent for review."),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        body = self.parse_body(PacketIn)
        packet = packet_create(project=self.project, key=self.agent_key, content=_content(body))
        return Response(packet_out(packet).model_dump(mode="json"), status=201)


class PacketDetailView(ProjectScopedAPIView):
    @extend_schema(
        operation_id="publish_packets_get", responses={200: PacketOut, **ERROR_RESPONSES}
    )
    def get(self, request, packet_pk: int):
        packet = self.get_scoped(selectors.packet_get, "publish packet", pk=packet_pk)
        return Response(packet_out(packet).model_dump(mode="json"))


class PacketRevisionsView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("actions:write",)

    @extend_schema(
        operation_id="publish_packets_revise",
        request=PacketIn,
        responses={
            200: OpenApiResponse(
                PacketOut,
                description="The packet's new content (its revision + 1): checked, hashed and "
                "reviewed again; the old content's approval no longer counts.",
            ),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request, packet_pk: int):
        packet = self.get_scoped(selectors.packet_get, "publish packet", pk=packet_pk)
        body = self.parse_body(PacketIn)
        packet = packet_edit(
            packet_id=packet.pk, project=self.project, key=self.agent_key, content=_content(body)
        )
        return Response(packet_out(packet).model_dump(mode="json"))


class GateView(ProjectScopedAPIView):
    @extend_schema(
        operation_id="policy_gates_get",
        responses={200: GateOut, **ERROR_RESPONSES, 404: error_response("Unknown provider.")},
    )
    def get(self, request, provider: str):
        if provider not in PUBLISHING_ACTIONS:
            raise NotFound(f"No policy gate for {provider!r}.")
        gate = selectors.gate_for(project=self.project, provider=provider)
        return Response(gate_out(gate).model_dump(mode="json"))


class EmergencySwitchView(ProjectScopedAPIView):
    write_scopes = ("actions:write",)

    def _switches(self) -> SwitchesOut:
        rows = [
            s
            for s in (selectors.switch_of(project=None), selectors.switch_of(project=self.project))
            if s is not None
        ]
        return SwitchesOut(
            engaged=any(s.status == "engaged" for s in rows),
            switches=[switch_out(s) for s in rows],
        )

    @extend_schema(
        operation_id="emergency_switch_get", responses={200: SwitchesOut, **ERROR_RESPONSES}
    )
    def get(self, request):
        return Response(self._switches().model_dump(mode="json"))

    @extend_schema(
        operation_id="emergency_switch_engage",
        request=SwitchIn,
        responses={
            200: OpenApiResponse(
                SwitchesOut,
                description="Engaged (or already engaged). An owner releases it, in the admin.",
            ),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request):
        body = self.parse_body(SwitchIn)
        emergency_switch_engage(
            project=self.project, actor=self.agent_key.actor_label, reason=body.reason
        )
        return Response(self._switches().model_dump(mode="json"))
