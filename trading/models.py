"""The risk gate's rows: accounts with their limits, the one daily state row per account, the
kill switch, positions, order decisions and the append-only risk and order events."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from autopack_site.db.append_only import TransitionEvent
from autopack_site.models import AgentKey, Project

MONEY = {"max_digits": 18, "decimal_places": 4}


class Broker(models.TextChoices):
    ALPACA = "alpaca"
    SIMULATED = "simulated"  # paper only: no broker at all


class Mode(models.TextChoices):
    DISABLED = "disabled"
    PAPER = "paper"
    LIVE = "live"


class AccountStatus(models.TextChoices):
    ACTIVE = "active"
    REDUCING = "reducing"  # only position-reducing orders pass
    HALTED = "halted"


class SwitchStatus(models.TextChoices):
    RELEASED = "released"
    ENGAGED = "engaged"


class DecisionStatus(models.TextChoices):
    DENIED = "denied"
    RESERVED = "reserved"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


# The limits an account is judged by; each is snapshotted in every risk event.
LIMIT_FIELDS = (
    "max_order_value",
    "max_position_value",
    "max_orders_per_day",
    "max_daily_loss",
    "max_exposure",
    "max_drawdown_pct",
    "max_orders_per_minute",
    "price_band_pct",
    "allowed_symbols",
)


class StrategyVersion(models.Model):
    """A content-hashed strategy. Live trading needs the account's current version approved by
    someone other than its requester (a `strategy_version` approval)."""

    account = models.ForeignKey(
        "TradingAccount", on_delete=models.CASCADE, related_name="strategies"
    )
    version = models.CharField(max_length=100)
    content = models.JSONField(default=dict)
    content_hash = models.CharField(max_length=64)
    requested_by = models.CharField(max_length=200)
    approval_id = models.PositiveBigIntegerField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "version"], name="strategy_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.content_hash[:12]})"


class TradingAccount(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="trading_accounts")
    name = models.CharField(max_length=100)
    broker = models.CharField(max_length=16, choices=Broker.choices, default=Broker.SIMULATED)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.DISABLED)
    status = models.CharField(
        max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    # Paper and live are separate broker environments with their own credentials.
    paper_credential = models.ForeignKey(
        "ledger.ProviderCredential",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    live_credential = models.ForeignKey(
        "ledger.ProviderCredential",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    max_order_value = models.DecimalField(**MONEY, default=Decimal("100"))
    max_position_value = models.DecimalField(**MONEY, default=Decimal("100"))
    max_orders_per_day = models.PositiveIntegerField(default=10)
    max_daily_loss = models.DecimalField(**MONEY, default=Decimal("100"))
    max_exposure = models.DecimalField(**MONEY, default=Decimal("1000"))
    max_drawdown_pct = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("10"))
    max_orders_per_minute = models.PositiveIntegerField(default=5)
    price_band_pct = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("5"))
    allowed_symbols = models.JSONField(
        default=list, blank=True, help_text="Empty: every symbol. Otherwise only these."
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    reservation_ttl_seconds = models.PositiveIntegerField(default=900)
    runaway_denials = models.PositiveIntegerField(
        default=20, help_text="Denials within runaway_window_seconds that halt the account."
    )
    runaway_window_seconds = models.PositiveIntegerField(default=60)
    current_strategy = models.ForeignKey(
        StrategyVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Reconciliation with the broker (trading/services/reconcile.py): when it last succeeded,
    # why the last attempt failed (empty when it did not), and how the broker's positions
    # differ from ours ({symbol: {"ours", "broker"}}).
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_error = models.CharField(max_length=500, blank=True)
    broker_drift = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="trading_account_unique_name"),
            models.CheckConstraint(
                condition=Q(max_drawdown_pct__gte=0) & Q(max_drawdown_pct__lte=100),
                name="trading_account_drawdown_pct_range",
            ),
            models.CheckConstraint(
                condition=Q(max_order_value__gte=0)
                & Q(max_position_value__gte=0)
                & Q(max_daily_loss__gte=0)
                & Q(max_exposure__gte=0)
                & Q(price_band_pct__gte=0),
                name="trading_account_limits_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.name}"

    def limits_snapshot(self) -> dict:
        return {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name in LIMIT_FIELDS
            for value in [getattr(self, name)]
        }


class AccountDay(models.Model):
    """The account's one daily state row: every check locks it. Today's counters (reset when
    the trading date in the account's time zone moves on) and the running exposure; all of it
    updated in SQL, never summed over history."""

    account = models.OneToOneField(
        TradingAccount, primary_key=True, on_delete=models.CASCADE, related_name="day"
    )
    trading_date = models.DateField()
    orders_today = models.PositiveIntegerField(default=0)
    realised_pnl_today = models.DecimalField(**MONEY, default=Decimal("0"))
    minute_started_at = models.DateTimeField(null=True, blank=True)
    orders_this_minute = models.PositiveIntegerField(default=0)
    denials_window_started_at = models.DateTimeField(null=True, blank=True)
    denials_in_window = models.PositiveIntegerField(default=0)
    reserved_value = models.DecimalField(**MONEY, default=Decimal("0"))
    position_value = models.DecimalField(**MONEY, default=Decimal("0"))
    equity = models.DecimalField(**MONEY, null=True, blank=True)
    equity_peak = models.DecimalField(**MONEY, null=True, blank=True)
    equity_reported_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reserved_value__gte=0), name="account_day_reserved_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} on {self.trading_date}"

    @property
    def exposure(self) -> Decimal:
        return self.position_value + self.reserved_value


class KillSwitch(models.Model):
    account = models.OneToOneField(
        TradingAccount, primary_key=True, on_delete=models.CASCADE, related_name="kill_switch"
    )
    status = models.CharField(
        max_length=16, choices=SwitchStatus.choices, default=SwitchStatus.RELEASED
    )
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.CharField(max_length=200, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"kill switch of {self.account_id}: {self.status}"


class Position(models.Model):
    """What the account holds of one symbol (valued at cost) and what open buys reserve."""

    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=12)
    qty = models.DecimalField(max_digits=18, decimal_places=9, default=Decimal("0"))
    cost_value = models.DecimalField(**MONEY, default=Decimal("0"))
    reserved_value = models.DecimalField(**MONEY, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_unique_symbol")
        ]

    def __str__(self) -> str:
        return f"{self.qty} {self.symbol}"


class OrderDecision(models.Model):
    """One pre-trade check's answer. Allowed decisions reserve capacity until the order is
    reported (submitted, filled, cancelled, rejected) or the reservation expires."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="decisions")
    client_order_id = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    symbol = models.CharField(max_length=12)
    side = models.CharField(max_length=4)
    qty = models.DecimalField(max_digits=18, decimal_places=9)
    order_type = models.CharField(max_length=16)
    limit_price = models.DecimalField(**MONEY, null=True, blank=True)
    reference_price = models.DecimalField(**MONEY)
    strategy_version = models.CharField(max_length=100)
    order_value = models.DecimalField(**MONEY)
    allowed = models.BooleanField()
    effective_mode = models.CharField(max_length=16, choices=Mode.choices)
    reasons = models.JSONField(default=list)
    remaining = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=DecisionStatus.choices)
    reserved_value = models.DecimalField(**MONEY, default=Decimal("0"))
    filled_qty = models.DecimalField(max_digits=18, decimal_places=9, default=Decimal("0"))
    expires_at = models.DateTimeField(null=True, blank=True)
    ledger_action_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    requested_by_key = models.ForeignKey(
        AgentKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="decision_unique_client_order_id"
            ),
            models.CheckConstraint(
                condition=Q(reserved_value__gte=0), name="decision_reserved_not_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "expires_at"],
                name="decision_open_by_expiry",
                condition=Q(status__in=["reserved", "submitted", "partially_filled"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} ({self.client_order_id}): {self.status}"


class BrokerOrder(models.Model):
    """An order seen at the broker by reconciliation. ``decision`` is the allowed check it
    matches (same client_order_id, symbol, side and quantity); an order without one halted the
    account when it was first seen (once: a supervisor who resumes the account is not halted
    again by the same order)."""

    account = models.ForeignKey(
        TradingAccount, on_delete=models.CASCADE, related_name="broker_orders"
    )
    broker_order_id = models.CharField(max_length=64)
    client_order_id = models.CharField(max_length=128, blank=True)
    symbol = models.CharField(max_length=12)
    side = models.CharField(max_length=8)
    qty = models.DecimalField(max_digits=18, decimal_places=9, null=True, blank=True)
    status = models.CharField(max_length=32, blank=True)
    broker_created_at = models.CharField(max_length=40, blank=True)
    decision = models.ForeignKey(
        OrderDecision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    known = models.BooleanField()
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "broker_order_id"], name="broker_order_unique_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} at the broker ({self.broker_order_id})"


class RiskEvent(TransitionEvent):
    """Every state, mode, limit and kill-switch change of an account, and every breach: who,
    why, and the limits as they were. Append-only (a database trigger on PostgreSQL)."""

    class Kind(models.TextChoices):
        STATE = "state"
        KILL_SWITCH = "kill_switch"
        MODE = "mode"
        LIMITS = "limits"
        BREACH = "breach"
        CREATED = "created"
        STRATEGY = "strategy"
        RECONCILE = "reconcile"

    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    limits = models.JSONField(default=dict)

    class Meta(TransitionEvent.Meta):
        indexes = [models.Index(fields=["account", "-id"], name="risk_event_account_recent")]

    def save(self, *args, **kwargs):
        if not self.limits:
            self.limits = self.account.limits_snapshot()
        super().save(*args, **kwargs)


class OrderEvent(TransitionEvent):
    decision = models.ForeignKey(OrderDecision, on_delete=models.CASCADE, related_name="events")
