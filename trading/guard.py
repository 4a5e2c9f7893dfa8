"""The risk gate in front of the ledger: every Alpaca order, at proposal and again before
every execution, must carry the decision_id of an allowed, unconsumed pre-trade check of the
same project for the same symbol, side and quantity, and the check's client_order_id (which
becomes the broker's client_order_id). An engaged kill switch or a halted account holds it.
The call (and any lookup of its outcome) uses the account's own credential for the check's
mode when it has one."""

from decimal import Decimal, InvalidOperation

from ledger.guards import ALLOW, ActionGuard, GuardVerdict, ProposedAction
from trading.models import AccountStatus, DecisionStatus, Mode, OrderDecision, SwitchStatus

GUARD_NAME = "trading.risk_gate"
USABLE = (DecisionStatus.RESERVED, DecisionStatus.SUBMITTED)


def _refuse(code: str, message: str) -> GuardVerdict:
    return GuardVerdict(refuse=(code, message))


def _judge(project_id: int, payload: dict, action_id: int | None) -> GuardVerdict:
    decision_id = payload.get("decision_id")
    if not isinstance(decision_id, int):
        return _refuse(
            "TRADING_CHECK_REQUIRED",
            "An order needs the decision_id of an allowed pre-trade check "
            "(POST /api/v1/trading/accounts/{id}/orders/check).",
        )
    decision = (
        OrderDecision.objects.select_related("account", "account__kill_switch")
        .filter(pk=decision_id, project_id=project_id)
        .first()
    )
    if decision is None or not decision.allowed:
        return _refuse("TRADING_CHECK_NOT_ALLOWED", "No allowed pre-trade check with this id.")
    try:
        qty = Decimal(str(payload.get("qty")))
    except InvalidOperation:
        qty = None
    if (
        decision.symbol != payload.get("symbol")
        or decision.side != payload.get("side")
        or decision.qty != qty
        or decision.client_order_id != payload.get("client_order_id")
    ):
        return _refuse(
            "TRADING_CHECK_MISMATCH",
            "The order differs from its pre-trade check (symbol, side, qty or client_order_id).",
        )
    if decision.ledger_action_id is not None and decision.ledger_action_id != action_id:
        return _refuse("TRADING_CHECK_CONSUMED", "This pre-trade check was used by another order.")
    if decision.status not in USABLE:
        return _refuse(
            "TRADING_CHECK_CONSUMED", f"This pre-trade check is {decision.status}; check again."
        )
    account = decision.account
    if account.mode == Mode.DISABLED or decision.effective_mode != account.mode:
        return _refuse("MODE_DISABLED", "The account's mode changed since the check.")
    switch = getattr(account, "kill_switch", None)
    if switch is None or switch.status == SwitchStatus.ENGAGED:
        return GuardVerdict(hold=("KILL_SWITCH_ENGAGED", "the account's kill switch is engaged"))
    if account.status == AccountStatus.HALTED:
        return GuardVerdict(hold=("ACCOUNT_HALTED", "the trading account is halted"))
    return GuardVerdict(facts={"amount": decision.order_value})


def at_proposal(proposed: ProposedAction) -> GuardVerdict:
    return _judge(proposed.project_id, proposed.payload, None)


def at_execution(action) -> GuardVerdict:
    verdict = _judge(action.project_id, action.payload, action.pk)
    if verdict.refuse or verdict.hold:
        return verdict
    # The first action to execute with a check consumes it (compare-and-set); any other
    # action carrying the same decision_id is refused from then on.
    OrderDecision.objects.filter(
        pk=action.payload["decision_id"], ledger_action_id__isnull=True
    ).update(ledger_action_id=action.pk)
    owner = (
        OrderDecision.objects.filter(pk=action.payload["decision_id"])
        .values_list("ledger_action_id", flat=True)
        .first()
    )
    if owner != action.pk:
        return _refuse("TRADING_CHECK_CONSUMED", "This pre-trade check was used by another order.")
    return ALLOW


def credential_for(action) -> int | None:
    """The account's own credential for the mode its check was allowed in (paper or live), so
    paper and live orders go to separate broker environments; None (the ledger's default) for
    an account without one."""
    decision_id = (action.payload or {}).get("decision_id")
    if not isinstance(decision_id, int):
        return None
    decision = (
        OrderDecision.objects.select_related("account")
        .filter(pk=decision_id, project_id=action.project_id)
        .first()
    )
    if decision is None:
        return None
    account = decision.account
    if decision.effective_mode == Mode.LIVE:
        return account.live_credential_id
    if decision.effective_mode == Mode.PAPER:
        return account.paper_credential_id
    return None


RISK_GATE = ActionGuard(
    name=GUARD_NAME,
    provider_glob="alpaca",
    action_glob="orders.*",
    at_proposal=at_proposal,
    at_execution=at_execution,
    credential_for=credential_for,
)
