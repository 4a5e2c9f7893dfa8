"""What the API answers, as pydantic models that ignore fields added later."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Attempt(Model):
    id: int
    run: int
    phase: str
    number: int
    status: str
    lease_expires_at: datetime | None = None
    checkpoint: dict[str, Any] | None = None


class Phase(Model):
    key: str
    status: str
    depends_on: list[str] = []


class Run(Model):
    id: int
    family: str
    run_id: str
    status: str
    phases: list[Phase] = []


class Action(Model):
    id: int
    idempotency_key: str
    provider: str
    action: str
    payload_hash: str
    status: str
    mode: str
    decision: dict[str, Any] = {}
    rendered_request: dict[str, Any] = {}
    side_effects: list[dict[str, Any]] = []
    approval: dict[str, Any] | None = None
    reference: str = ""
    provider_reference: str = ""
    response_summary: dict[str, Any] = {}
    error: str = ""


class Approval(Model):
    id: int
    kind: str
    status: str
    title: str
    payload_hash: str
    decisions: list[dict[str, Any]] = []


class Decision(Model):
    outcome: str
    policy_version: int
    reasons: list[dict[str, Any]]
    matched_rules: list[dict[str, Any]]
    risk: dict[str, Any]
    hint: str


class Patch(Model):
    id: int
    outcome: str
    diff_sha256: str
    approval: dict[str, Any] | None = None
    decision: Decision


class OrderCheck(Model):
    """The risk gate's answer: ``allowed`` with ``decision_id`` (capacity reserved), or denied
    with its ``reasons`` ({code, message, limit, actual, hint}). Amounts are decimal strings."""

    allowed: bool
    decision_id: int | None = None
    client_order_id: str
    effective_mode: str
    order_value: str
    status: str | None = None
    reasons: list[dict[str, Any]] = []
    remaining: dict[str, str | None] = {}
    replayed: bool = False

    @property
    def codes(self) -> list[str]:
        return [str(r.get("code", "")) for r in self.reasons]


class KillSwitch(Model):
    engaged: bool
    reason: str
    changed_by: str


class GuardedOrder(Model):
    """What `guarded_order` did: the check, and either the ledger action that placed the order
    or what the caller's broker function answered; ``report`` is the decision after the report."""

    check: OrderCheck
    action: Action | None = None
    broker_reference: str = ""
    report: OrderCheck | None = None
