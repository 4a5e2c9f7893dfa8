"""The provider contract: a strict pydantic schema per action, a dry run that renders the exact
request (secrets masked), an execute that raises typed errors, and a lookup by our reference."""

import abc
import email.utils
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

MASK = "***"


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


@dataclass
class ProviderContext:
    base_url: str
    secret: str
    timeout: float = 10.0
    client: httpx.Client | None = None


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

    def __init__(self, message: str, *, status: int | None = None, retry_after=None):
        super().__init__(message)
        self.http_status = status
        self.retry_after = retry_after


class NotSent(ProviderError):
    retry_safe = True
    sent = False


class RateLimited(ProviderError):
    retry_safe = True


class ProviderServerError(ProviderError):
    def __init__(self, message: str, *, retry_safe: bool, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_safe = retry_safe


class Rejected(ProviderError):
    pass


class OutcomeUnknown(ProviderError):
    pass


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
    body: Any  # JSON-ready
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
        body = self.check(send(prepared, ctx))
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


def send(prepared: PreparedRequest, ctx: ProviderContext, *, json_body: bool = True):
    """One HTTP call; connection failures before sending are NotSent, anything after may have
    reached the provider and is OutcomeUnknown."""
    client = ctx.client or httpx.Client(timeout=ctx.timeout)
    try:
        return client.request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            **({"json": prepared.body} if json_body and prepared.body is not None else {}),
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise NotSent(f"could not connect: {type(exc).__name__}") from None
    except (
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.RemoteProtocolError,
        httpx.ReadError,
        httpx.WriteError,
    ) as exc:
        raise OutcomeUnknown(f"the call may have happened: {type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        raise OutcomeUnknown(f"the call may have happened: {type(exc).__name__}") from None
    finally:
        if ctx.client is None:
            client.close()


def get_json(url: str, headers: dict[str, str], ctx: ProviderContext, params=None, body=None):
    """A read for lookups (GET, or POST for GraphQL queries): failures are NotSent because a
    lookup changes nothing and is always safe to repeat."""
    client = ctx.client or httpx.Client(timeout=ctx.timeout)
    try:
        if body is None:
            response = client.get(url, headers=headers, params=params)
        else:
            response = client.post(url, headers=headers, json=body)
    except httpx.HTTPError as exc:
        raise NotSent(f"lookup failed: {type(exc).__name__}") from None
    finally:
        if ctx.client is None:
            client.close()
    return response
