"""A signed webhook: POST JSON with X-Autopack-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>"> keyed by the credential's secret. A generic receiver cannot be asked whether it
got a delivery, so lookups answer "unknown" and such actions go to an operator."""

import hashlib
import hmac
import json
import time
from typing import Any

from pydantic import Field, HttpUrl, field_validator

from autopack_site.outbound import check_outbound_url
from ledger.providers.base import (
    ActionPayload,
    LookupResult,
    PreparedRequest,
    ProviderAdapter,
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
        check_outbound_url(str(url))  # UnsafeURL is a ValueError: a 422 with the field path
        return url


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


class WebhookAdapter(ProviderAdapter):
    name = "webhook"
    actions = {"send": WebhookSend}
    dedupes_by_reference = False

    def _body(self, payload: WebhookSend, reference: str) -> bytes:
        document = {"event": payload.event, "reference": reference, "data": payload.data}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def prepare(self, action, payload: WebhookSend, *, reference, ctx, timestamp=None):
        raw = self._body(payload, reference)
        timestamp = int(time.time()) if timestamp is None else timestamp
        return PreparedRequest(
            method="POST",
            url=str(payload.url),
            headers={
                "Content-Type": "application/json",
                "X-Autopack-Reference": reference,
                "X-Autopack-Signature": signature(ctx.secret, timestamp, raw),
            },
            body=json.loads(raw),
            secret_headers=("X-Autopack-Signature",),
        )

    def side_effects(self, action, payload: WebhookSend):
        return [
            SideEffect(type="create", target=f"{payload.event} → {payload.url}", reversible=False)
        ]

    def execute(self, action, payload, *, reference, ctx):
        from ledger.providers.base import ExecutionResult

        check_outbound_url(str(payload.url), resolve=True)  # DNS may have changed since
        prepared = self.prepare(action, payload, reference=reference, ctx=ctx)
        raw = self._body(payload, reference)
        prepared.body = None
        response = send_raw(prepared, raw, ctx)
        if response.status_code >= 300:
            self.check(response)  # raises the typed error
        return ExecutionResult(
            provider_reference=reference, summary={"status": response.status_code}
        )

    def reference_of(self, action, body) -> str:
        return ""

    def lookup(self, action, payload, *, reference, ctx) -> LookupResult:
        return LookupResult(state="unknown")


def send_raw(prepared: PreparedRequest, raw: bytes, ctx):
    """Sends exactly the signed bytes (json= would re-serialise them)."""
    import httpx

    from ledger.providers.base import NotSent, OutcomeUnknown

    client = ctx.client or httpx.Client(timeout=ctx.timeout)
    try:
        return client.post(prepared.url, headers=prepared.headers, content=raw)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise NotSent(f"could not connect: {type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise OutcomeUnknown(f"the call may have happened: {type(exc).__name__}") from None
    finally:
        if ctx.client is None:
            client.close()


__all__ = ["WebhookAdapter", "send", "signature", "verify"]
