"""One call to Claude for advice: the code path every advisory reviewer shares (the approval
review, approvals/reviewer.py; the policy-change summary, publishing/policy_summary.py).

The caller brings its system prompt, its user message (with the untrusted material already
redacted and put through ``frame_untrusted``) and the pydantic model a valid answer must be.
This module builds the anthropic client on the pinned outbound client
(autopack_site/outbound.py) with no retries and the reviewer's time limit, makes the one call,
counts tokens and cost, validates the answer and turns every failure — API errors, timeouts,
connection failures, malformed answers — into an error result. It never raises for those, never
runs inside a transaction (callers call it from a task, after commit) and scrubs the API key
from any error text. Advice decides nothing: callers store it and show it, no more.
"""

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

import anthropic
import httpx
from django.conf import settings
from pydantic import BaseModel, ValidationError

from autopack_site.outbound import outbound_client
from autopack_site.redaction import scrub

ADVICE = "advice"
ERROR = "error"
# USD per million tokens (input, output); unknown models are recorded at 0 with the tokens.
PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "claude-opus-4-1": (Decimal(15), Decimal(75)),
    "claude-opus-4-5": (Decimal(5), Decimal(25)),
    "claude-sonnet-4-5": (Decimal(3), Decimal(15)),
    "claude-sonnet-4": (Decimal(3), Decimal(15)),
    "claude-haiku-4-5": (Decimal(1), Decimal(5)),
}

Answer = TypeVar("Answer", bound=BaseModel)


@dataclass
class AdviceResult(Generic[Answer]):
    """What one call came to: ``answer`` when valid (outcome "advice"), else ``error``."""

    outcome: str
    model: str
    answer: Answer | None = None
    error: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    duration_ms: int = 0

    def accounting(self) -> dict:
        """The columns every stored advice row keeps, and what its log line says."""
        return {
            "outcome": self.outcome,
            "model": self.model[:100],
            "error": self.error,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "duration_ms": self.duration_ms,
        }


def frame_untrusted(text: str) -> str:
    """``text`` made unable to close (or open) an ``<untrusted_data>`` frame, inside one."""
    safe = text.replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<untrusted_data>\n{safe}\n</untrusted_data>"


def cost_of(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    price_in, price_out = PRICES.get(model, (Decimal(0), Decimal(0)))
    cost = (price_in * input_tokens + price_out * output_tokens) / Decimal(1_000_000)
    return cost.quantize(Decimal("0.000001"))


def _answer_json(text: str) -> str:
    """The JSON object in the answer (models sometimes wrap it in a code fence)."""
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


def ask_for_advice(
    *,
    api_key: str,
    model: str,
    system: str,
    content: str,
    answer_model: type[Answer],
    max_tokens: int = 800,
    transport: httpx.BaseTransport | None = None,
) -> AdviceResult[Answer]:
    """One call to Claude (outside any transaction). Never raises for the model's or the
    network's failures: they come back as an error result, with what the call cost."""
    started = time.monotonic()
    http_client = outbound_client(
        timeout=settings.AUTOPACK_REVIEWER_TIMEOUT_SECONDS, transport=transport
    )
    client = anthropic.Anthropic(
        api_key=api_key,
        http_client=http_client,
        max_retries=0,
        timeout=settings.AUTOPACK_REVIEWER_TIMEOUT_SECONDS,
    )
    result: AdviceResult[Answer] = AdviceResult(outcome=ERROR, model=model)
    try:
        message = client.messages.create(
            model=model,
            max_tokens=max_tokens,
            system=system,
            messages=[{"role": "user", "content": content}],
        )
        usage = getattr(message, "usage", None)
        result.input_tokens = int(getattr(usage, "input_tokens", 0) or 0)
        result.output_tokens = int(getattr(usage, "output_tokens", 0) or 0)
        result.model = getattr(message, "model", None) or model
        result.cost_usd = cost_of(model, result.input_tokens, result.output_tokens)
        text = "".join(
            block.text for block in message.content if getattr(block, "type", "") == "text"
        )
        result.answer = answer_model.model_validate_json(_answer_json(text))
        result.outcome = ADVICE
    except ValidationError as exc:
        result.error = f"malformed answer: {exc.error_count()} problem(s), e.g. " + (
            f"{exc.errors()[0]['type']} at {'.'.join(map(str, exc.errors()[0]['loc'])) or '-'}"
        )
    except anthropic.APITimeoutError:
        result.error = "timeout: no answer within the reviewer's time limit"
    except anthropic.APIStatusError as exc:
        result.error = f"the API answered {exc.status_code}"
    except (anthropic.APIError, httpx.HTTPError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        http_client.close()
    result.error = scrub(result.error, secrets=[api_key])[:500]
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result
