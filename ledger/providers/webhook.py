"""A signed webhook: POST the canonical JSON of {event, reference, data} with
X-Autopack-Signature (autopack_site/signing.py) keyed by the project's signing secret, the
same one that signs its approval callbacks. The target is the agent's choice, so no configured
origin is trusted for it: it must be public. A generic receiver cannot be asked whether it got
a delivery, so lookups answer "unknown" and such actions go to an operator."""

import time
from typing import Any

from pydantic import Field, HttpUrl, field_validator

from autopack_site.canonical import canonical_json
from autopack_site.outbound import check_outbound_url
from autopack_site.signing import HEADER, sign
from ledger.providers.base import (
    ActionPayload,
    ExecutionResult,
    LookupResult,
    PreparedRequest,
    ProviderAdapter,
    ProviderContext,
    SideEffect,
    send,
)


class WebhookSend(ActionPayload):
    url: HttpUrl
    event: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _public(cls, url: HttpUrl) -> HttpUrl:
        check_outbound_url(str(url))  # RefusedTarget is a ValueError: a 422 with the field path
        return url


class WebhookAdapter(ProviderAdapter):
    name = "webhook"
    actions = {"send": WebhookSend}
    dedupes_by_reference = False
    signs_with_project_secret = True

    def trusted_urls(self, ctx: ProviderContext) -> tuple[str, ...]:
        return ()

    def prepare(self, action, payload: WebhookSend, *, reference, ctx, timestamp=None):
        document = {"event": payload.event, "reference": reference, "data": payload.data}
        timestamp = int(time.time()) if timestamp is None else timestamp
        return PreparedRequest(
            method="POST",
            url=str(payload.url),
            headers={
                "Content-Type": "application/json",
                "X-Autopack-Reference": reference,
                HEADER: sign(ctx.secret, canonical_json(document), timestamp=timestamp),
            },
            body=document,  # send() puts exactly these canonical bytes on the wire
            secret_headers=(HEADER,),
        )

    def side_effects(self, action, payload: WebhookSend):
        return [
            SideEffect(type="create", target=f"{payload.event} → {payload.url}", reversible=False)
        ]

    def execute(self, action, payload, *, reference, ctx):
        prepared = self.prepare(action, payload, reference=reference, ctx=ctx)
        response = send(prepared, ctx, trusted=self.trusted_urls(ctx))
        if response.status_code >= 300:
            self.check(response)  # raises the typed error
        return ExecutionResult(
            provider_reference=reference, summary={"status": response.status_code}
        )

    def reference_of(self, action, body) -> str:
        return ""

    def lookup(self, action, payload, *, reference, ctx) -> LookupResult:
        return LookupResult(state="unknown")
