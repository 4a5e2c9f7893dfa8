"""The provider contract: a strict pydantic schema per action, a dry run that renders the exact
request (secrets masked), an execute that raises typed errors, and a lookup by our reference.
Every call goes out through autopack_site.outbound (resolved once, pinned, refused if internal);
the provider's configured base URL is the one internal origin an adapter may reach."""

import abc
import email.utils
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from autopack_site.canonical import canonical_json
from autopack_site.outbound import RefusedTarget, outbound_client
from autopack_site.redaction import MASK


class SideEffect(BaseModel):
    type: Literal["create", "update", "delete", "publish", "trade"]
    target: str
    reversible: bool
    estimated_cost: Decimal | None = None


class RenderedRequest(BaseModel):
    method: str
    url: str
    headers: dict[str, str]
    body: Any


class DryRun(BaseModel):
    request: RenderedRequest
    side_effects: list[SideEffect]


class ActionPayload(BaseModel):
    """Base for action schemas: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class PacketRef(ActionPayload):
    """The reviewed publish packet a publishing action carries (the publishing app checks it at
    proposal and before the call): its id and the content hash that was approved. Part of the
    payload, so the action's payload hash binds it; never sent to the provider."""

    id: int = Field(gt=0)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


@dataclass
class ProviderContext:
    base_url: str
    secret: str
    timeout: float = 10.0
    transport: httpx.BaseTransport | None = None  # what finally sends; tests give a MockTransport


@dataclass
class ExecutionResult:
    provider_reference: str
    summary: dict[str, Any]


@dataclass
class LookupResult:
    state: Literal["found", "absent", "unknown"]
    provider_reference: str = ""
    summary: dict[str, Any] = field(default_factory=dict)


class UnknownAction(ValueError):
    pass


class ProviderError(Exception):
    retry_safe = False
    sent = True
    code = "provider_error"  # the reason code an action's event and error carry

    def __init__(self, message: str, *, status: int | None = None, retry_after=None):
        super().__init__(message)
        self.http_status = status
        self.retry_after = retry_after


class NotSent(ProviderError):
    code = "not_sent"
    retry_safe = True
    sent = False


class OutboundRefused(ProviderError):
    """The target is not one the platform calls (autopack_site.outbound): nothing was sent and
    trying again will not change that, so the action fails (never unknown)."""

    code = "outbound_refused"
    retry_safe = False
    sent = False


class RateLimited(ProviderError):
    code = "rate_limited"
    retry_safe = True


class ProviderServerError(ProviderError):
    code = "provider_server_error"

    def __init__(self, message: str, *, retry_safe: bool, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_safe = retry_safe


class Rejected(ProviderError):
    code = "rejected_by_provider"


class OutcomeUnknown(ProviderError):
    code = "outcome_unknown"


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


@dataclass
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: Any  # JSON-ready; sent as its canonical JSON bytes (what a webhook signs)
    secret_headers: tuple[str, ...] = ()

    def rendered(self) -> RenderedRequest:
        headers = {
            name: MASK if name in self.secret_headers else value
            for name, value in self.headers.items()
        }
        return RenderedRequest(method=self.method, url=self.url, headers=headers, body=self.body)


class ProviderAdapter(abc.ABC):
    name: str
    actions: dict[str, type[BaseModel]]
    dedupes_by_reference: bool = False
    default_base_url: str = ""
    # The provider's OAuth token endpoint, when its credentials refresh (never a user's choice).
    oauth_token_url: str = ""
    # Signs with the project's signing secret instead of a provider secret (the webhook).
    signs_with_project_secret: bool = False

    def token_url(self, base_url: str) -> str:
        """The token endpoint: the real one, or the same path on a configured base URL (the
        fake provider in tests and `make run`)."""
        if not self.oauth_token_url:
            return ""
        base = base_url.rstrip("/")
        if base in ("", self.default_base_url):
            return self.oauth_token_url
        return base + urlsplit(self.oauth_token_url).path

    def trusted_urls(self, ctx: ProviderContext) -> tuple[str, ...]:
        """A base URL an operator configured (the fake provider) may be internal; the public
        default is checked and pinned like any other target."""
        configured = ctx.base_url.rstrip("/") not in ("", self.default_base_url)
        return (ctx.base_url,) if configured else ()

    def validate(self, action: str, payload: dict) -> BaseModel:
        schema = self.actions.get(action)
        if schema is None:
            raise UnknownAction(f"{self.name} has no action {action!r}")
        return schema.model_validate(payload)

    @abc.abstractmethod
    def prepare(
        self, action: str, payload: BaseModel, *, reference: str, ctx: ProviderContext
    ) -> PreparedRequest: ...

    @abc.abstractmethod
    def side_effects(self, action: str, payload: BaseModel) -> list[SideEffect]: ...

    @abc.abstractmethod
    def reference_of(self, action: str, body: Any) -> str: ...

    def summary_of(self, action: str, body: Any) -> dict[str, Any]:
        return {"id": self.reference_of(action, body)}

    def dry_run(self, action, payload, *, reference: str, ctx: ProviderContext) -> DryRun:
        prepared = self.prepare(action, payload, reference=reference, ctx=ctx)
        return DryRun(request=prepared.rendered(), side_effects=self.side_effects(action, payload))

    def execute(self, action, payload, *, reference: str, ctx: ProviderContext) -> ExecutionResult:
        prepared = self.prepare(action, payload, reference=reference, ctx=ctx)
        body = self.check(send(prepared, ctx, trusted=self.trusted_urls(ctx)))
        return ExecutionResult(
            provider_reference=self.reference_of(action, body),
            summary=self.summary_of(action, body),
        )

    def check(self, response: httpx.Response) -> Any:
        """Maps an answer to a body or a typed error."""
        if response.status_code == 429:
            raise RateLimited(
                "rate limited by the provider",
                status=429,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code >= 500:
            raise ProviderServerError(
                f"provider error {response.status_code}",
                status=response.status_code,
                retry_safe=self.dedupes_by_reference,
            )
        if response.status_code >= 400:
            raise Rejected(
                f"refused with {response.status_code}: {response.text[:200]}",
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise OutcomeUnknown("the provider's answer was not JSON") from None

    @abc.abstractmethod
    def lookup(self, action, payload, *, reference: str, ctx: ProviderContext) -> LookupResult: ...


def send(prepared: PreparedRequest, ctx: ProviderContext, *, trusted: tuple[str, ...] = ()):
    """One HTTP call with the body's canonical JSON bytes. A refused target or a connection
    failure before sending is not sent; anything after may have reached the provider and is
    OutcomeUnknown."""
    content = None if prepared.body is None else canonical_json(prepared.body)
    try:
        with outbound_client(timeout=ctx.timeout, allow=trusted, transport=ctx.transport) as client:
            return client.request(
                prepared.method, prepared.url, headers=prepared.headers, content=content
            )
    except RefusedTarget as refusal:
        raise OutboundRefused(str(refusal)) from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise NotSent(f"could not connect: {type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise OutcomeUnknown(f"the call may have happened: {type(exc).__name__}") from None


def get_json(
    url: str,
    headers: dict[str, str],
    ctx: ProviderContext,
    *,
    trusted: tuple[str, ...] = (),
    params=None,
    body=None,
):
    """A read for lookups (GET, or POST for GraphQL queries): failures are NotSent because a
    lookup changes nothing and is always safe to repeat."""
    try:
        with outbound_client(timeout=ctx.timeout, allow=trusted, transport=ctx.transport) as client:
            if body is None:
                return client.get(url, headers=headers, params=params)
            return client.post(url, headers=headers, content=canonical_json(body))
    except RefusedTarget as refusal:
        raise OutboundRefused(str(refusal)) from None
    except httpx.HTTPError as exc:
        raise NotSent(f"lookup failed: {type(exc).__name__}") from None
