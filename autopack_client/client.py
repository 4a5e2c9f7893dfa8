"""A small typed client for the Autopack agent API (httpx + pydantic; no Django).

    client = AutopackClient("http://127.0.0.1:8000", api_key)
    run = client.create_run("build", "try-1", phases=[{"key": "plan"}])
    attempt = client.claim(run.id)
    action = client.execute("alpaca", "orders.create", payload, run=run.id, phase="plan", step=1)

Retries: GETs, and POSTs that are idempotent by design (run creation, action proposals with an
Idempotency-Key), are retried on connection errors, 5xx and 409 request_in_progress, with
exponential backoff honouring Retry-After. Other POSTs are retried only when nothing was sent.
"""

import functools
import hashlib
import hmac
import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from autopack_client import errors
from autopack_client.models import (
    Action,
    Approval,
    Attempt,
    Decision,
    GuardedOrder,
    KillSwitch,
    OrderCheck,
    Patch,
    Run,
)

FINAL_ACTION = {
    "succeeded",
    "failed",
    "denied",
    "rejected",
    "expired",
    "cancelled",
    "dry_run",
    "needs_reconciliation",
}
OUTCOME_ERRORS = {
    "denied": errors.Denied,
    "rejected": errors.Rejected,
    "expired": errors.Expired,
    "cancelled": errors.Rejected,
    "failed": errors.Failed,
    "needs_reconciliation": errors.Unknown,
}


def derive_idempotency_key(run: int | None, phase: str | None, step: Any, *parts: str) -> str:
    """The same (run, phase, step) → the same key, so a restarted agent cannot act twice."""
    material = "\x1f".join(str(part) for part in (run, phase, step, *parts))
    return "ap-" + hashlib.sha256(material.encode()).hexdigest()[:40]


def verify_signature(
    secrets: str | Sequence[str], header: str, body: bytes, *, tolerance: int = 300
) -> bool:
    """Checks an X-Autopack-Signature header (t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">)
    against your project's signing secret; while a rotation settles, pass the old and the new.
    The server's twin is autopack_site/signing.py (this SDK imports no Django)."""
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    timestamp, signatures = None, []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures or abs(time.time() - timestamp) > tolerance:
        return False
    signed = f"{timestamp}.".encode() + body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in candidates if s]
    return any([hmac.compare_digest(mine, theirs) for mine in expected for theirs in signatures])


class AutopackClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 40.0,
        retries: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )
        self.retries = retries
        self.backoff = backoff

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "AutopackClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        headers: dict | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        safe = method == "GET" if idempotent is None else idempotent
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if attempt == self.retries:
                    raise
                self._sleep(attempt, None)
                continue
            except httpx.TransportError:
                if not safe or attempt == self.retries:
                    raise
                self._sleep(attempt, None)
                continue
            retryable = response.status_code >= 500 or (
                response.status_code == 409 and self._code(response) == "request_in_progress"
            )
            if retryable and safe and attempt < self.retries:
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code >= 400:
                raise self._error(response)
            return response
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        try:
            delay = float(retry_after) if retry_after else None
        except ValueError:
            delay = None
        if delay is None:
            # retry jitter spreads retries and guards nothing:
            delay = random.uniform(0, self.backoff * 2**attempt)  # nosec B311
        time.sleep(delay)

    @staticmethod
    def _code(response: httpx.Response) -> str:
        try:
            return response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return ""

    @staticmethod
    def _error(response: httpx.Response) -> errors.AutopackError:
        try:
            body = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            body = {"code": "", "message": response.text[:200], "details": {}}
        kind = errors.BY_STATUS.get(response.status_code)
        if kind is None:
            kind = errors.ServerError if response.status_code >= 500 else errors.AutopackError
        return kind(
            body.get("message", ""),
            status=response.status_code,
            code=body.get("code", ""),
            details=body.get("details") or {},
            request_id=response.headers.get("X-Request-ID", ""),
        )

    # --- runs ---------------------------------------------------------------------------------
    def me(self) -> dict:
        return self._request("GET", "/api/v1/me").json()

    def create_run(self, family: str, run_id: str, *, phases: list[dict], config=None) -> Run:
        body = {"family": family, "run_id": run_id, "phases": phases, "config": config or {}}
        response = self._request("POST", "/api/v1/runs", json=body, idempotent=True)
        return Run.model_validate(response.json())

    def get_run(self, run_id: int) -> Run:
        return Run.model_validate(self._request("GET", f"/api/v1/runs/{run_id}").json())

    def claim(self, run_id: int, *, lease_seconds: int | None = None) -> Attempt | None:
        body = {"lease_seconds": lease_seconds} if lease_seconds else {}
        response = self._request("POST", f"/api/v1/runs/{run_id}/claim", json=body)
        if response.status_code == 204:
            return None
        return Attempt.model_validate(response.json()["attempt"])

    def heartbeat(self, attempt_id: int, *, lease_seconds: int | None = None) -> Attempt:
        body = {"lease_seconds": lease_seconds} if lease_seconds else {}
        response = self._request("POST", f"/api/v1/attempts/{attempt_id}/heartbeat", json=body)
        return Attempt.model_validate(response.json())

    def checkpoint(self, attempt_id: int, checkpoint: dict) -> Attempt:
        response = self._request(
            "POST", f"/api/v1/attempts/{attempt_id}/checkpoint", json={"checkpoint": checkpoint}
        )
        return Attempt.model_validate(response.json())

    def complete(
        self, attempt_id: int, outcome: str, *, error_type: str = "", error_message: str = ""
    ) -> Attempt:
        body = {"outcome": outcome, "error_type": error_type, "error_message": error_message}
        response = self._request("POST", f"/api/v1/attempts/{attempt_id}/complete", json=body)
        return Attempt.model_validate(response.json())

    def record_usage(self, run_id: int, **usage) -> dict:
        return self._request("POST", f"/api/v1/runs/{run_id}/usage", json=usage).json()

    def export_run(self, run_id: int) -> dict:
        return self._request("GET", f"/api/v1/runs/{run_id}/export").json()

    # --- governance ---------------------------------------------------------------------------
    def evaluate_action(self, provider: str, action: str, **question) -> Decision:
        body = {"action": {"provider": provider, "action": action, **question}}
        response = self._request("POST", "/api/v1/policy/evaluate", json=body, idempotent=True)
        return Decision.model_validate(response.json())

    def submit_patch(self, run_id: int, diff: str, *, phase: str | None = None, title="") -> Patch:
        body = {"diff": diff, "phase": phase, "title": title}
        response = self._request("POST", f"/api/v1/runs/{run_id}/patches", json=body)
        return Patch.model_validate(response.json())

    def get_approval(self, approval_id: int, *, wait: int = 0) -> Approval:
        response = self._request(
            "GET", f"/api/v1/approvals/{approval_id}", params={"wait": min(wait, 30)}
        )
        return Approval.model_validate(response.json())

    def wait_for_approval(self, approval_id: int, *, timeout: float = 3600) -> Approval:
        deadline = time.monotonic() + timeout
        while True:
            remaining = int(max(0, deadline - time.monotonic()))
            approval = self.get_approval(approval_id, wait=min(30, remaining))
            if approval.status != "pending" or remaining == 0:
                return approval

    # --- actions ------------------------------------------------------------------------------
    def propose(
        self,
        provider: str,
        action: str,
        payload: dict,
        *,
        idempotency_key: str | None = None,
        run: int | None = None,
        phase: str | None = None,
        step: Any = None,
        dry_run: bool = False,
        mode: str = "platform",
        callback_url: str = "",
    ) -> Action:
        if idempotency_key is None:
            if run is not None and step is not None:
                idempotency_key = derive_idempotency_key(run, phase, step, provider, action)
            else:
                idempotency_key = f"ap-{uuid.uuid4().hex}"  # this call's retries share it
        body = {
            "provider": provider,
            "action": action,
            "payload": payload,
            "dry_run": dry_run,
            "run": run,
            "phase": phase,
            "callback_url": callback_url,
            "mode": mode,
        }
        response = self._request(
            "POST",
            "/api/v1/actions",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            idempotent=True,
        )
        return Action.model_validate(response.json())

    def get_action(self, action_id: int, *, wait: int = 0) -> Action:
        response = self._request(
            "GET", f"/api/v1/actions/{action_id}", params={"wait": min(wait, 30)}
        )
        return Action.model_validate(response.json())

    def wait_for_action(
        self, action_id: int, *, until: set[str] = FINAL_ACTION, timeout: float = 3600
    ) -> Action:
        deadline = time.monotonic() + timeout
        while True:
            remaining = int(max(0, deadline - time.monotonic()))
            action = self.get_action(action_id, wait=min(30, remaining))
            if action.status in until:
                return action
            if remaining == 0:
                raise errors.TimedOut(f"action {action_id} is still {action.status}", action=action)

    def execute(self, provider: str, action: str, payload: dict, *, timeout=3600, **kw) -> Action:
        """Propose, wait for the decision, approval and execution; raise unless it succeeded."""
        proposed = self.propose(provider, action, payload, **kw)
        final = self.wait_for_action(proposed.id, timeout=timeout)
        return self._succeeded(final)

    @staticmethod
    def _succeeded(action: Action) -> Action:
        if action.status in ("succeeded", "dry_run"):
            return action
        kind = OUTCOME_ERRORS.get(action.status, errors.ActionOutcomeError)
        reason = action.error or "; ".join(
            str(r.get("message", "")) for r in action.decision.get("reasons", [])
        )
        raise kind(f"action {action.id} {action.status}: {reason}", action=action)

    # --- agent mode ---------------------------------------------------------------------------
    def claim_action(self, action_id: int) -> Action:
        return Action.model_validate(
            self._request("POST", f"/api/v1/actions/{action_id}/claim").json()
        )

    def report_result(
        self,
        action_id: int,
        *,
        outcome: str,
        payload_hash: str,
        provider_reference: str = "",
        summary: dict | None = None,
        error: str = "",
    ) -> Action:
        body = {
            "outcome": outcome,
            "payload_hash": payload_hash,
            "provider_reference": provider_reference,
            "summary": summary or {},
            "error": error,
        }
        response = self._request("POST", f"/api/v1/actions/{action_id}/result", json=body)
        return Action.model_validate(response.json())

    def governed(self, provider: str, action: str, *, timeout: float = 3600):
        """Decorator for agent-mode actions: the call runs only after the policy (and, if asked,
        an operator) approved this exact payload, exactly once per (run, phase, step).

            @client.governed("shopify", "products.create")
            def create(payload) -> tuple[str, dict]:   # (provider reference, summary)
                ...
            create(payload, run=run.id, phase="publish", step=1)
        """

        def decorate(function: Callable[[dict], tuple[str, dict]]):
            @functools.wraps(function)
            def wrapper(payload: dict, *, run=None, phase=None, step=None, idempotency_key=None):
                proposed = self.propose(
                    provider,
                    action,
                    payload,
                    run=run,
                    phase=phase,
                    step=step,
                    idempotency_key=idempotency_key,
                    mode="agent",
                )
                ready = self.wait_for_action(
                    proposed.id, until=FINAL_ACTION | {"approved"}, timeout=timeout
                )
                if ready.status != "approved":
                    return self._succeeded(ready)
                claimed = self.claim_action(ready.id)
                try:
                    reference, summary = function(payload)
                except Exception as exc:
                    self.report_result(
                        claimed.id,
                        outcome="failed",
                        payload_hash=claimed.payload_hash,
                        error=f"{type(exc).__name__}: {exc}"[:1000],
                    )
                    raise
                return self.report_result(
                    claimed.id,
                    outcome="succeeded",
                    payload_hash=claimed.payload_hash,
                    provider_reference=reference,
                    summary=summary,
                )

            return wrapper

        return decorate

    # --- trading: the pre-trade risk gate -------------------------------------------------------
    def check_order(
        self,
        account: int,
        *,
        client_order_id: str,
        symbol: str,
        side: str,
        qty: str,
        reference_price: str,
        strategy_version: str,
        order_type: str = "market",
        limit_price: str | None = None,
        preview: bool = False,
    ) -> OrderCheck:
        """Ask the risk gate "may I place this order?". An allowed check reserves capacity and
        answers its ``decision_id``; a denied one answers ``allowed=False`` with reasons (not an
        exception). Amounts are decimal strings. Retried safely: the gate is idempotent by
        ``client_order_id``. ``preview=True`` runs the same rules without reserving."""
        body: dict[str, Any] = {
            "client_order_id": client_order_id,
            "symbol": symbol,
            "side": side,
            "qty": str(qty),
            "order_type": order_type,
            "reference_price": str(reference_price),
            "strategy_version": strategy_version,
        }
        if limit_price is not None:
            body["limit_price"] = str(limit_price)
        route = "preview" if preview else "check"
        response = self._request(
            "POST", f"/api/v1/trading/accounts/{account}/orders/{route}", json=body, idempotent=True
        )
        return OrderCheck.model_validate(response.json())

    def report_order(
        self,
        account: int,
        client_order_id: str,
        event: str,
        *,
        filled_qty: str | None = None,
        fill_price: str | None = None,
    ) -> OrderCheck:
        """Report what became of a checked order: ``submitted``, ``partially_filled`` /
        ``filled`` (this fill's ``filled_qty`` and ``fill_price``), ``cancelled`` or
        ``rejected``."""
        body: dict[str, Any] = {"client_order_id": client_order_id, "event": event}
        if filled_qty is not None:
            body["filled_qty"] = str(filled_qty)
        if fill_price is not None:
            body["fill_price"] = str(fill_price)
        response = self._request(
            "POST", f"/api/v1/trading/accounts/{account}/orders/report", json=body
        )
        return OrderCheck.model_validate(response.json())

    def engage_kill_switch(self, account: int, reason: str) -> KillSwitch:
        """Stop the account's trading: every new check is denied and its queued ledger orders
        are held. Only a trading supervisor releases it, in the admin (an agent cannot)."""
        response = self._request(
            "POST",
            f"/api/v1/trading/accounts/{account}/kill-switch",
            json={"engaged": True, "reason": reason},
            idempotent=True,
        )
        return KillSwitch.model_validate(response.json())

    def guarded_order(
        self,
        account: int,
        *,
        client_order_id: str,
        symbol: str,
        side: str,
        qty: str,
        reference_price: str,
        strategy_version: str,
        order_type: str = "market",
        limit_price: str | None = None,
        place: Callable[[OrderCheck], str] | None = None,
        time_in_force: str = "day",
        timeout: float = 3600,
        **propose: Any,
    ) -> GuardedOrder:
        """Check the order, place it only if allowed, and report it submitted.

        ``place`` is the caller's broker function: it receives the allowed check (send the
        order with ``check.client_order_id``) and returns the broker's order id. Without it the
        platform places the order through the ledger as Alpaca ``orders.create`` carrying the
        check's ``decision_id`` (the ledger refuses an order without one) and waits for it.
        A denied check raises `OrderDenied` and nothing is placed; if ``place`` raises, the
        order is reported rejected (its reservation released) and the error re-raised."""
        check = self.check_order(
            account,
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            qty=qty,
            reference_price=reference_price,
            strategy_version=strategy_version,
            order_type=order_type,
            limit_price=limit_price,
        )
        if not check.allowed or check.decision_id is None:
            raise errors.OrderDenied(
                f"order {client_order_id} denied: {', '.join(check.codes)}",
                check=check,
                code=check.codes[0] if check.codes else "",
            )
        if place is not None:
            try:
                reference = place(check)
            except Exception:
                self.report_order(account, client_order_id, "rejected")
                raise
            report = self.report_order(account, client_order_id, "submitted")
            return GuardedOrder(check=check, broker_reference=reference, report=report)
        payload: dict[str, Any] = {
            "symbol": symbol,
            "qty": str(qty),
            "side": side,
            "type": order_type,
            "time_in_force": time_in_force,
            "decision_id": check.decision_id,
            "client_order_id": client_order_id,
        }
        if limit_price is not None:
            payload["limit_price"] = str(limit_price)
        propose.setdefault("idempotency_key", f"trading-{account}-{client_order_id}")
        action = self.execute("alpaca", "orders.create", payload, timeout=timeout, **propose)
        report = self.report_order(account, client_order_id, "submitted")
        return GuardedOrder(
            check=check, action=action, broker_reference=action.provider_reference, report=report
        )
