"""What happens to an allowed order after the check: the agent reports it submitted, filled
(in parts), cancelled or rejected; each report consumes or releases the reservation and moves
positions, exposure and today's realised P&L. A realised loss past the daily limit moves the
account to reducing by itself. Reservations never reported expire (a schedule)."""

from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from autopack_site.errors import Conflict, NotFound, Unprocessable
from trading.models import (
    AccountDay,
    AccountStatus,
    DecisionStatus,
    OrderDecision,
    Position,
    TradingAccount,
)
from trading.services.accounts import SYSTEM, breach
from trading.services.checks import CENT
from trading.services.common import locked_day, rolled_over
from trading.transitions import DECISION

OPEN = (DecisionStatus.RESERVED, DecisionStatus.SUBMITTED, DecisionStatus.PARTIALLY_FILLED)
REPORTS = ("submitted", "partially_filled", "filled", "cancelled", "rejected")


def order_report(
    *,
    account: TradingAccount,
    client_order_id: str,
    event: str,
    actor: str,
    filled_qty: Decimal | None = None,
    fill_price: Decimal | None = None,
) -> OrderDecision:
    """``filled_qty`` is the quantity of this fill (not cumulative); ``fill_price`` its price."""
    if event not in REPORTS:
        raise Unprocessable(f"Unknown order event {event!r}.", code="unknown_order_event")
    fill: tuple[Decimal, Decimal] | None = None
    if event in ("partially_filled", "filled"):
        if not filled_qty or not fill_price:
            raise Unprocessable(
                "A fill needs filled_qty and fill_price.", code="fill_needs_qty_and_price"
            )
        fill = (filled_qty, fill_price)
    with transaction.atomic():
        day = locked_day(account.pk)
        decision = _locked_decision(account.pk, client_order_id)
        if not decision.allowed:
            raise Conflict("A denied order cannot be reported.", code="order_denied")
        if decision.status == event and event == DecisionStatus.SUBMITTED:
            return decision  # a repeated report
        if decision.status not in OPEN:
            raise Conflict(
                f"The order is {decision.status}; it takes no more reports.",
                code="order_closed",
            )
        now = timezone.now()
        reset = rolled_over(day, now)
        if fill is not None:
            _fill(day, decision, event, *fill, reset, actor)
        elif event == "submitted":
            DECISION.move(decision, DecisionStatus.SUBMITTED, actor=actor)
            if reset:
                AccountDay.objects.filter(pk=day.pk).update(**reset)
        else:
            _release(day, decision, reset)
            DECISION.move(decision, event, actor=actor, reserved_value=Decimal("0"))
    return decision


def _locked_decision(account_id: int, client_order_id: str) -> OrderDecision:
    row = (
        OrderDecision.objects.filter(account_id=account_id, client_order_id=client_order_id)
        .values_list("pk", flat=True)
        .first()
    )
    if row is None:
        raise NotFound("No check with this client_order_id for this account.")
    return DECISION.lock(row)


def _release(day: AccountDay, decision: OrderDecision, reset: dict, amount=None) -> None:
    amount = decision.reserved_value if amount is None else amount
    AccountDay.objects.filter(pk=day.pk).update(
        **reset, reserved_value=F("reserved_value") - amount
    )
    if amount:
        Position.objects.filter(account_id=day.pk, symbol=decision.symbol).update(
            reserved_value=F("reserved_value") - amount
        )


def _fill(day, decision, event, qty: Decimal, price: Decimal, reset, actor) -> None:
    open_qty = decision.qty - decision.filled_qty
    if qty > open_qty:
        raise Unprocessable(
            "The fill is larger than what is left of the order.",
            code="overfill",
            details={"open_qty": str(open_qty)},
        )
    complete = event == "filled" or qty == open_qty
    release = (
        decision.reserved_value
        if complete
        else (decision.reserved_value * qty / open_qty).quantize(CENT)
    )
    position, _ = Position.objects.get_or_create(account_id=day.pk, symbol=decision.symbol)
    realised = Decimal("0")
    if decision.side == "buy":
        cost_delta = (qty * price).quantize(CENT)
        qty_delta = qty
    else:
        held = max(position.qty, Decimal("0"))
        closing = min(qty, held)
        average = (position.cost_value / position.qty) if position.qty > 0 else Decimal("0")
        realised = (closing * (price - average)).quantize(CENT)
        cost_delta = -(closing * average).quantize(CENT) + ((qty - closing) * price).quantize(CENT)
        qty_delta = -qty
    Position.objects.filter(pk=position.pk).update(
        qty=F("qty") + qty_delta,
        cost_value=F("cost_value") + cost_delta,
        reserved_value=F("reserved_value") - release,
    )
    AccountDay.objects.filter(pk=day.pk).update(
        **reset,
        reserved_value=F("reserved_value") - release,
        position_value=F("position_value") + cost_delta,
        realised_pnl_today=(realised if reset else F("realised_pnl_today") + realised),
    )
    DECISION.move(
        decision,
        DecisionStatus.FILLED if complete else DecisionStatus.PARTIALLY_FILLED,
        actor=actor,
        detail={"qty": str(qty), "price": str(price), "realised": str(realised)},
        filled_qty=decision.filled_qty + qty,
        reserved_value=decision.reserved_value - release,
    )
    pnl = realised if reset else day.realised_pnl_today + realised
    account = day.account
    if -pnl >= account.max_daily_loss and account.status == AccountStatus.ACTIVE:
        breach(
            account,
            AccountStatus.REDUCING,
            "DAILY_LOSS_LIMIT_REACHED",
            f"realised loss today {-pnl} reached {account.max_daily_loss}",
        )


def decisions_expire(*, limit: int = 500) -> int:
    """Reservations nobody reported on: expired, their capacity released (the order count
    stays spent)."""
    expired = 0
    due = OrderDecision.objects.filter(
        status=DecisionStatus.RESERVED, expires_at__lte=timezone.now()
    ).values_list("pk", "account_id")[:limit]
    for pk, account_id in list(due):
        with transaction.atomic():
            day = locked_day(account_id)
            decision = DECISION.lock(pk)
            expires_at = decision.expires_at
            if decision.status != DecisionStatus.RESERVED or (
                expires_at is not None and expires_at > timezone.now()
            ):
                continue
            _release(day, decision, rolled_over(day, timezone.now()))
            DECISION.move(
                decision,
                DecisionStatus.EXPIRED,
                actor=SYSTEM,
                reason="never reported",
                reserved_value=Decimal("0"),
            )
            expired += 1
    return expired
