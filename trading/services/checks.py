"""The pre-trade check: may this order be placed? One locked day row per account, counters in
SQL, a decision row per client_order_id (a replay returns it; other parameters under the same
id are refused). Preview answers the same question without the lock and without reserving."""

import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from approvals.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from autopack_site.canonical import sha256_of
from autopack_site.errors import Unprocessable
from autopack_site.models import AgentKey
from trading.models import (
    AccountDay,
    AccountStatus,
    DecisionStatus,
    Mode,
    OrderDecision,
    Position,
    RiskEvent,
    SwitchStatus,
    TradingAccount,
)
from trading.services.common import locked_day, rolled_over
from trading.transitions import ACCOUNT, DECISION

CENT = Decimal("0.0001")
EQUITY_STALE_AFTER = timedelta(hours=24)
RATE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: str  # buy | sell
    qty: Decimal
    order_type: str  # market | limit | stop | stop_limit
    reference_price: Decimal
    strategy_version: str
    limit_price: Decimal | None = None

    def value(self) -> Decimal:
        """qty x reference price for market orders; qty x max(limit, reference) for a buy with a
        limit (a sell with a limit is valued at the reference price, its worst case for us)."""
        price = self.reference_price
        if self.limit_price is not None and self.side == "buy":
            price = max(self.limit_price, self.reference_price)
        return (self.qty * price).quantize(CENT, rounding=ROUND_HALF_UP)

    def request_hash(self) -> str:
        def plain(value):
            return format(value.normalize(), "f") if isinstance(value, Decimal) else value

        return sha256_of({name: plain(value) for name, value in asdict(self).items()})


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    limit: str | None = None
    actual: str | None = None
    hint: str = ""


def _s(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.quantize(CENT), "f")
    return str(value)


# --- live authorisation ------------------------------------------------------------------------


def live_trading_subject(account: TradingAccount) -> str:
    return f"trading-account:{account.pk}:live"


def live_authorisation(account: TradingAccount, request: OrderRequest | None) -> list[Reason]:
    """Why live trading is not effective for ``account`` now (empty: it is)."""
    reasons = []
    if os.environ.get("LIVE_TRADING_ENABLED") != "1":  # exactly "1": no truthy spellings
        reasons.append(
            Reason(
                "LIVE_NOT_AUTHORIZED",
                "Live trading is not enabled on this installation.",
                hint="An operator sets LIVE_TRADING_ENABLED=1 on the server.",
            )
        )
    approved = ApprovalRequest.objects.filter(
        project_id=account.project_id,
        kind=ApprovalKind.LIVE_TRADING,
        target_id=account.pk,
        status=ApprovalStatus.APPROVED,
        valid_until__gt=timezone.now(),
    ).exists()
    if not approved:
        reasons.append(
            Reason(
                "LIVE_NOT_AUTHORIZED",
                "No valid live-trading approval for this account.",
                hint="Ask for a live_trading approval; an operator approves it.",
            )
        )
    strategy = account.current_strategy
    if strategy is None or strategy.approved_at is None:
        reasons.append(
            Reason(
                "STRATEGY_NOT_APPROVED",
                "The account's current strategy version is not approved.",
                actual=strategy.version if strategy else None,
                hint="POST the strategy and have someone other than its requester approve it.",
            )
        )
    elif request is not None and request.strategy_version != strategy.version:
        reasons.append(
            Reason(
                "STRATEGY_NOT_APPROVED",
                "The order's strategy version is not the account's approved version.",
                limit=strategy.version,
                actual=request.strategy_version,
                hint="Trade with the approved strategy version or have the new one approved.",
            )
        )
    if reasons and not any(r.code == "LIVE_NOT_AUTHORIZED" for r in reasons):
        reasons.insert(
            0,
            Reason(
                "LIVE_NOT_AUTHORIZED",
                "Live trading needs an approved strategy version.",
                hint="See STRATEGY_NOT_APPROVED.",
            ),
        )
    return reasons


# --- the rules ---------------------------------------------------------------------------------


@dataclass
class Evaluation:
    reasons: list[Reason]
    effective_mode: str
    opening_value: Decimal  # what the order adds to exposure and to its symbol's position
    remaining: dict
    position: Position | None
    minute_reset: bool


def evaluate(
    day: AccountDay,
    request: OrderRequest,
    *,
    position: Position | None,
    live_reasons: list[Reason],
    now: datetime,
) -> Evaluation:
    account = day.account
    reasons: list[Reason] = []
    value = request.value()
    held = position.qty if position else Decimal("0")
    # A sell up to what is held reduces the position; beyond it, it opens a short.
    if request.side == "buy":
        opening_value = value
    else:
        opening_value = (max(request.qty - held, Decimal("0")) * request.reference_price).quantize(
            CENT
        )
    reducing = request.side == "sell" and request.qty <= held

    switch = getattr(account, "kill_switch", None)
    if switch is None or switch.status == SwitchStatus.ENGAGED:
        reasons.append(
            Reason(
                "KILL_SWITCH_ENGAGED",
                "The account's kill switch is engaged: no new orders.",
                actual=switch.reason if switch else "no kill switch row",
                hint="A trading supervisor releases it in the admin.",
            )
        )
    effective_mode: str
    if account.mode == Mode.DISABLED:
        effective_mode = Mode.DISABLED
        reasons.append(
            Reason(
                "MODE_DISABLED",
                "Trading is disabled for this account.",
                actual=account.mode,
                hint="A trading supervisor sets the mode to paper (or live).",
            )
        )
    elif account.mode == Mode.LIVE and live_reasons:
        effective_mode = Mode.DISABLED  # never silently paper
        reasons.extend(live_reasons)
    else:
        effective_mode = str(account.mode)
    if account.status == AccountStatus.HALTED:
        reasons.append(
            Reason(
                "ACCOUNT_HALTED",
                "The account is halted.",
                actual=account.status,
                hint="A trading supervisor reviews the breach and reactivates the account.",
            )
        )
    elif account.status == AccountStatus.REDUCING and not reducing:
        reasons.append(
            Reason(
                "REDUCING_ONLY",
                "The account only accepts orders that reduce a position.",
                limit=_s(held),
                actual=f"{request.side} {_s(request.qty)}",
                hint="Sell at most what the account holds of this symbol.",
            )
        )
    if account.allowed_symbols and request.symbol not in account.allowed_symbols:
        reasons.append(
            Reason(
                "SYMBOL_NOT_ALLOWED",
                f"{request.symbol} is not among the account's allowed symbols.",
                limit=",".join(account.allowed_symbols),
                actual=request.symbol,
                hint="Trade an allowed symbol or ask for a limit change.",
            )
        )
    band = account.price_band_pct / Decimal(100) * request.reference_price
    if (
        request.limit_price is not None
        and abs(request.limit_price - request.reference_price) > band
    ):
        reasons.append(
            Reason(
                "PRICE_OUTSIDE_BAND",
                "The limit price is too far from the reference price (fat finger?).",
                limit=f"{_s(request.reference_price - band)}..{_s(request.reference_price + band)}",
                actual=_s(request.limit_price),
                hint="Check the price; refresh the reference price.",
            )
        )
    if value > account.max_order_value and not reducing:
        reasons.append(
            Reason(
                "ORDER_VALUE_EXCEEDS_MAX",
                "The order's value is above the account's maximum per order.",
                limit=_s(account.max_order_value),
                actual=_s(value),
                hint="Lower the quantity.",
            )
        )
    symbol_value = (
        (position.cost_value + position.reserved_value) if position else Decimal("0")
    ) + opening_value
    if opening_value and symbol_value > account.max_position_value:
        reasons.append(
            Reason(
                "POSITION_EXCEEDS_MAX",
                f"The position in {request.symbol} would exceed the maximum per symbol.",
                limit=_s(account.max_position_value),
                actual=_s(symbol_value),
                hint="Lower the quantity or reduce the position first.",
            )
        )
    if day.orders_today >= account.max_orders_per_day:
        reasons.append(
            Reason(
                "DAILY_ORDER_COUNT_REACHED",
                "The account has placed its maximum number of orders today.",
                limit=str(account.max_orders_per_day),
                actual=str(day.orders_today),
                hint=f"The count resets at midnight {account.time_zone}.",
            )
        )
    if -day.realised_pnl_today >= account.max_daily_loss and not reducing:
        reasons.append(
            Reason(
                "DAILY_LOSS_LIMIT_REACHED",
                "Today's realised loss reached the account's daily limit.",
                limit=_s(account.max_daily_loss),
                actual=_s(-day.realised_pnl_today),
                hint="Only position-reducing orders pass until tomorrow.",
            )
        )
    exposure = day.position_value + day.reserved_value + opening_value
    if opening_value and exposure > account.max_exposure:
        reasons.append(
            Reason(
                "EXPOSURE_EXCEEDS_MAX",
                "Positions plus reserved open orders would exceed the total exposure limit.",
                limit=_s(account.max_exposure),
                actual=_s(exposure),
                hint="Wait for open orders to settle or reduce positions.",
            )
        )
    drawdown = _drawdown_pct(day)
    if drawdown is not None and drawdown >= account.max_drawdown_pct and not reducing:
        reasons.append(
            Reason(
                "DRAWDOWN_EXCEEDS_MAX",
                "Equity is down from its peak by more than the allowed drawdown.",
                limit=_s(account.max_drawdown_pct),
                actual=_s(drawdown),
                hint="A trading supervisor reviews the account.",
            )
        )
    if account.mode == Mode.LIVE:
        if day.equity is None:
            reasons.append(
                Reason(
                    "DATA_MISSING",
                    "No equity has been reported for this live account.",
                    hint="Report the account's equity (POST .../equity).",
                )
            )
        elif day.equity_reported_at and now - day.equity_reported_at > EQUITY_STALE_AFTER:
            reasons.append(
                Reason(
                    "DATA_STALE",
                    "The last equity report is too old.",
                    actual=day.equity_reported_at.isoformat(),
                    hint="Report the account's equity (POST .../equity).",
                )
            )
    minute_reset = day.minute_started_at is None or now - day.minute_started_at >= RATE_WINDOW
    in_minute = 0 if minute_reset else day.orders_this_minute
    if in_minute >= account.max_orders_per_minute:
        reasons.append(
            Reason(
                "ORDER_RATE_EXCEEDED",
                "Too many orders in the last minute.",
                limit=str(account.max_orders_per_minute),
                actual=str(in_minute),
                hint="Slow down; retry after a minute.",
            )
        )
    taken = 0 if reasons else 1
    remaining = {
        "orders_today": str(max(account.max_orders_per_day - day.orders_today - taken, 0)),
        "orders_this_minute": str(max(account.max_orders_per_minute - in_minute - taken, 0)),
        "exposure": _s(
            account.max_exposure
            - day.position_value
            - day.reserved_value
            - (opening_value if taken else 0)
        ),
        "position_value": _s(
            account.max_position_value - symbol_value + (0 if taken else opening_value)
        ),
        "daily_loss": _s(account.max_daily_loss + day.realised_pnl_today),
    }
    return Evaluation(reasons, effective_mode, opening_value, remaining, position, minute_reset)


def _drawdown_pct(day: AccountDay) -> Decimal | None:
    if day.equity is None or not day.equity_peak:
        return None
    return ((day.equity_peak - day.equity) / day.equity_peak * 100).quantize(Decimal("0.01"))


# --- the services ------------------------------------------------------------------------------


def _replay(existing: OrderDecision, request_hash: str) -> OrderDecision:
    if existing.request_hash != request_hash:
        raise Unprocessable(
            "This client_order_id was already checked with other parameters.",
            code="client_order_id_reused",
            details={"decision_id": existing.pk},
        )
    return existing


def order_preview(*, account: TradingAccount, request: OrderRequest) -> Evaluation:
    """The same checks as ``order_check``, nothing locked, nothing reserved."""
    day = AccountDay.objects.select_related(
        "account", "account__kill_switch", "account__current_strategy"
    ).get(account_id=account.pk)
    now = timezone.now()
    rolled_over(day, now)
    position = Position.objects.filter(account_id=account.pk, symbol=request.symbol).first()
    live = live_authorisation(day.account, request) if day.account.mode == Mode.LIVE else []
    return evaluate(day, request, position=position, live_reasons=live, now=now)


def order_check(
    *,
    account: TradingAccount,
    request: OrderRequest,
    key: AgentKey | None,
    actor: str,
) -> tuple[OrderDecision, bool]:
    """(decision, replayed). An allowed check reserves capacity: today's order count, the rate
    window, the order's value in exposure and in its symbol's position, all in SQL under the
    account's day-row lock. Denials are recorded too; enough of them in a short window halt the
    account (a runaway agent)."""
    request_hash = request.request_hash()
    existing = OrderDecision.objects.filter(
        account_id=account.pk, client_order_id=request.client_order_id
    ).first()
    if existing is not None:
        return _replay(existing, request_hash), True
    try:
        with transaction.atomic():
            day = locked_day(account.pk)
            # No second look for the client_order_id under the lock: a concurrent check with
            # the same id that won the lock first makes our INSERT fail on the unique
            # constraint (below), which rolls back this transaction's counters too.
            now = timezone.now()
            reset = rolled_over(day, now)
            position = Position.objects.filter(account_id=account.pk, symbol=request.symbol).first()
            # The mode is the one read under the lock; a live account's approvals are read here
            # too (one more indexed query, live accounts only).
            live = live_authorisation(day.account, request) if day.account.mode == Mode.LIVE else []
            result = evaluate(day, request, position=position, live_reasons=live, now=now)
            allowed = not result.reasons
            decision = OrderDecision(
                project_id=account.project_id,
                account_id=account.pk,
                client_order_id=request.client_order_id,
                request_hash=request_hash,
                symbol=request.symbol,
                side=request.side,
                qty=request.qty,
                order_type=request.order_type,
                limit_price=request.limit_price,
                reference_price=request.reference_price,
                strategy_version=request.strategy_version,
                order_value=request.value(),
                allowed=allowed,
                effective_mode=result.effective_mode,
                reasons=[asdict(reason) for reason in result.reasons],
                remaining=result.remaining,
                reserved_value=result.opening_value if allowed else 0,
                expires_at=(
                    now + timedelta(seconds=day.account.reservation_ttl_seconds)
                    if allowed
                    else None
                ),
                requested_by_key=key,
            )
            if allowed:
                _reserve(day, result, request, reset, now)
            else:
                _count_denial(day, reset, now, actor)
            DECISION.create(
                decision,
                status=DecisionStatus.RESERVED if allowed else DecisionStatus.DENIED,
                actor=actor,
                reason="allowed" if allowed else ",".join(r.code for r in result.reasons),
            )
    except IntegrityError:
        # Only the unique client_order_id can collide, and the day lock orders checks: this
        # is a replay that raced the fast path.
        existing = OrderDecision.objects.get(
            account_id=account.pk, client_order_id=request.client_order_id
        )
        return _replay(existing, request_hash), True
    return decision, False


def _reserve(day: AccountDay, result: Evaluation, request: OrderRequest, reset, now) -> None:
    changes = {
        **reset,
        "orders_today": (1 if reset else F("orders_today") + 1),
        "reserved_value": F("reserved_value") + result.opening_value,
    }
    if result.minute_reset:
        changes.update(minute_started_at=now, orders_this_minute=1)
    else:
        changes["orders_this_minute"] = F("orders_this_minute") + 1
    AccountDay.objects.filter(account_id=day.account_id).update(**changes)
    if result.opening_value:
        if result.position is None:
            Position.objects.create(
                account_id=day.account_id,
                symbol=request.symbol,
                reserved_value=result.opening_value,
            )
        else:
            Position.objects.filter(pk=result.position.pk).update(
                reserved_value=F("reserved_value") + result.opening_value
            )


def _count_denial(day: AccountDay, reset, now, actor: str) -> None:
    account = day.account
    window = timedelta(seconds=account.runaway_window_seconds)
    fresh = day.denials_window_started_at is None or now - day.denials_window_started_at >= window
    denials = 1 if fresh else day.denials_in_window + 1
    changes = {**reset, "denials_in_window": denials}
    if fresh:
        changes["denials_window_started_at"] = now
    AccountDay.objects.filter(account_id=day.account_id).update(**changes)
    if denials >= account.runaway_denials and account.status != AccountStatus.HALTED:
        ACCOUNT.move(
            account,
            AccountStatus.HALTED,
            actor="system:risk-gate",
            reason=f"runaway: {denials} denied checks within {account.runaway_window_seconds}s",
            detail={"breach": "RUNAWAY_DENIALS", "denials": denials, "last_actor": actor},
        )
        RiskEvent(
            account=account,
            kind=RiskEvent.Kind.BREACH,
            from_status="",
            to_status="RUNAWAY_DENIALS",
            actor="system:risk-gate",
            reason=f"{denials} denials within {account.runaway_window_seconds}s",
        ).save(force_insert=True)
