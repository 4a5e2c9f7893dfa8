"""POST /api/v1/policy/evaluate: what the policy would say, with nothing created or logged."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from autopack_site.api.base import ProjectScopedAPIView
from autopack_site.api.openapi import ERROR_RESPONSES
from autopack_site.errors import Unprocessable
from policies.engine import PatchParseError, parse_patch
from policies.schemas import EvaluateIn, PolicyDecisionOut
from policies.serializers import decision_out_fields
from policies.services import action_decide, patch_decide


class PolicyEvaluateView(ProjectScopedAPIView):
    read_scopes = ()
    write_scopes = ("read", "runs:write", "actions:write", "trading:write")

    @extend_schema(
        operation_id="policy_evaluate",
        request=EvaluateIn,
        responses={200: PolicyDecisionOut, **ERROR_RESPONSES},
    )
    def post(self, request):
        body = self.parse_body(EvaluateIn)
        if (body.action is None) == (body.patch is None):
            raise Unprocessable("Ask about exactly one of 'action' or 'patch'.")
        requester = f"agent:{self.agent_key.name}"
        if body.action is not None:
            question = body.action
            decision = action_decide(
                project=self.project,
                provider=question.provider,
                action=question.action,
                amount=question.amount,
                dry_run_done=question.dry_run_done,
                publish_packet_approved=question.publish_packet_approved,
                provider_policy_fresh=question.provider_policy_fresh,
                requester=requester,
                log=False,
            )
        else:
            try:
                parsed = parse_patch(body.patch.diff)
            except PatchParseError as exc:
                raise Unprocessable(
                    f"The diff could not be parsed: {exc}", code="invalid_diff"
                ) from None
            decision = patch_decide(
                project=self.project,
                patch=parsed,
                first_run=body.patch.first_run,
                requester=requester,
                log=False,
            )
        out = PolicyDecisionOut.model_validate(decision_out_fields(decision.to_dict()))
        return Response(out.model_dump(mode="json"))
