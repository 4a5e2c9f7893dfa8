"""Accounts: creation, mode, limits (tighten at once, loosen through a limit_change approval),
state, the kill switch (any actor engages it; only a trading supervisor, a person, releases it),
equity reports with their automatic breaches, and strategy versions."""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.models import ApprovalKind
from approvals.services import approval_request_create
from autopack_site.actors import actor_of_user
from autopack_site.canonical import sha256_of
from autopack_site.errors import Forbidden, Unprocessable
from autopack_site.models import AgentKey, Project
from autopack_site.roles import Capability, role_allows
from ledger.models import ActionStatus, ExternalAction
from ledger.services import actions_hold_for_guard
from trading.models import (
    LIMIT_FIELDS,
    AccountDay,
    AccountStatus,
    DecisionStatus,
    KillSwitch,
    Mode,
    RiskEvent,
    StrategyVersion,
    SwitchStatus,
    TradingAccount,
)
from trading.services.common import locked_day, trading_date
from trading.transitions import ACCOUNT, KILL_SWITCH

SYSTEM = "system:risk-gate"
KILL_SWITCH_HOLD = "KILL_SWITCH_ENGAGED"
ACCOUNT_SETTINGS = {
    "broker",
    "time_zone",
    "reservation_ttl_seconds",
    "runaway_denials",
    "runaway_window_seconds",
    "paper_credential",
    "live_credential",
}


def _supervisor(user, account: TradingAccount, what: str) -> str:
    if not role_allows(user, account.project_id, Capability.SUPERVISE_TRADING):
        raise Forbidden(f"Only a trading supervisor of this project may {what}.")
    return actor_of_user(user)


def account_create(
    *, project: Project, name: str, mode: str = Mode.DISABLED, actor: str, **limits: Any
) -> TradingAccount:
    unknown = set(limits) - set(LIMIT_FIELDS) - ACCOUNT_SETTINGS
    if unknown:
        raise Unprocessable(f"Unknown account settings: {sorted(unknown)}.")
    account = TradingAccount(project=project, name=name, mode=mode, **limits)
    account.full_clean(exclude=["project", "current_strategy"])
    with transaction.atomic():
        ACCOUNT.create(account, status=AccountStatus.ACTIVE, actor=actor, reason="created")
        AccountDay.objects.create(account=account, trading_date=trading_date(account))
        KILL_SWITCH.create(
            KillSwitch(account=account),
            status=SwitchStatus.RELEASED,
            actor=actor,
            reason="created",
        )
        RiskEvent(
            account=account,
            kind=RiskEvent.Kind.MODE,
            from_status="",
            to_status=mode,
            actor=actor,
            reason="created",
        ).save(force_insert=True)
    return account


def kill_switch_set(
    *,
    account: TradingAccount,
    engaged: bool,
    reason: str,
    key: AgentKey | None = None,
    user: AbstractBaseUser | None = None,
) -> KillSwitch:
    """Engaging: anyone (an agent key, a person, the gate itself). Releasing: a trading
    supervisor, a person, with a reason; never an agent key."""
    if not reason.strip():
        raise Unprocessable("A reason is required.", code="reason_required")
    if engaged:
        actor = key.actor_label if key else (actor_of_user(user) if user else SYSTEM)
    else:
        if key is not None or user is None:
            raise Forbidden(
                "An agent cannot release the kill switch; a trading supervisor does, in the admin.",
                code="kill_switch_release_forbidden",
            )
        actor = _supervisor(user, account, "release the kill switch")
    target = SwitchStatus.ENGAGED if engaged else SwitchStatus.RELEASED
    with transaction.atomic():
        day = locked_day(account.pk)  # the lock every check takes: no check slips past
        switch = KILL_SWITCH.lock(account.pk)
        switch.account = day.account
        if switch.status == target:
            return switch
        KILL_SWITCH.move(
            switch,
            target,
            actor=actor,
            reason=reason,
            changed_by=actor,
            changed_at=timezone.now(),
        )
        # The switch's own "reason" field cannot go through move(): that name is the event's.
        KillSwitch.objects.filter(pk=switch.pk).update(reason=reason[:500])
        if engaged:
            actions_hold_for_guard(
                queued_orders(account), code=KILL_SWITCH_HOLD, message=reason[:200]
            )
    return switch


def queued_orders(account: TradingAccount):
    """The account's ledger orders that are queued or approved but not yet sent."""
    decision_ids = account.decisions.filter(
        status__in=[DecisionStatus.RESERVED, DecisionStatus.SUBMITTED]
    ).values_list("pk", flat=True)
    return ExternalAction.objects.filter(
        project_id=account.project_id,
        provider="alpaca",
        action="orders.create",
        status=ActionStatus.APPROVED,
        payload__decision_id__in=list(decision_ids),
    )


def account_status_change(
    *, account: TradingAccount, status: str, reason: str, user: AbstractBaseUser
) -> TradingAccount:
    actor = _supervisor(user, account, "change the account's state")
    if not reason.strip():
        raise Unprocessable("A reason is required.", code="reason_required")
    with transaction.atomic():
        day = locked_day(account.pk)
        account = ACCOUNT.lock(account.pk)
        account.current_strategy = day.account.current_strategy
        if account.status != status:
            ACCOUNT.move(account, status, actor=actor, reason=reason)
    return account


def account_mode_change(
    *, account: TradingAccount, mode: str, reason: str, user: AbstractBaseUser
) -> TradingAccount:
    actor = _supervisor(user, account, "change the account's mode")
    with transaction.atomic():
        locked_day(account.pk)
        account = ACCOUNT.lock(account.pk)
        if account.mode != mode:
            RiskEvent(
                account=account,
                kind=RiskEvent.Kind.MODE,
                from_status=account.mode,
                to_status=mode,
                actor=actor,
                reason=reason,
            ).save(force_insert=True)
            TradingAccount.objects.filter(pk=account.pk).update(mode=mode)
            account.mode = mode
    return account


# Which direction is looser for each limit.
_LOOSER_WHEN_HIGHER = set(LIMIT_FIELDS) - {"allowed_symbols"}


def _loosens(account: TradingAccount, name: str, value) -> bool:
    current = getattr(account, name)
    if name == "allowed_symbols":
        # Empty means every symbol: anything added (or emptying the list) loosens.
        return (not value and bool(current)) or bool(set(value) - set(current))
    return Decimal(str(value)) > Decimal(str(current))


def account_limits_change(
    *,
    account: TradingAccount,
    limits: dict[str, Any],
    reason: str,
    user: AbstractBaseUser,
) -> tuple[TradingAccount, int | None]:
    """Tightening applies at once; loosening opens a limit_change approval (someone other than
    the editor approves) and applies only when approved. Returns (account, approval id)."""
    if not role_allows(user, account.project_id, Capability.EDIT_POLICY) and not role_allows(
        user, account.project_id, Capability.SUPERVISE_TRADING
    ):
        raise Forbidden("Only a policy editor or a trading supervisor may change limits.")
    unknown = set(limits) - set(LIMIT_FIELDS)
    if unknown:
        raise Unprocessable(f"Unknown limits: {sorted(unknown)}.")
    tighter = {n: v for n, v in limits.items() if not _loosens(account, n, v)}
    looser = {n: v for n, v in limits.items() if _loosens(account, n, v)}
    approval_id = None
    with transaction.atomic():
        locked_day(account.pk)
        account = ACCOUNT.lock(account.pk)
        changed = {n: v for n, v in tighter.items() if getattr(account, n) != v}
        if changed:
            _apply_limits(account, changed, actor=actor_of_user(user), reason=reason)
        if looser:
            payload = {
                "account": account.pk,
                "limits": {n: (str(v) if isinstance(v, Decimal) else v) for n, v in looser.items()},
            }
            approval = approval_request_create(
                project=account.project,
                kind=ApprovalKind.LIMIT_CHANGE,
                subject=f"trading-account:{account.pk}:limits",
                title=f"Loosen limits of {account.name}",
                payload=payload,
                target_id=account.pk,
                summary=reason,
                requested_by_user=user,
            )
            approval_id = approval.pk
    return account, approval_id


def _apply_limits(account: TradingAccount, changed: dict, *, actor: str, reason: str) -> None:
    before = account.limits_snapshot()
    for name, value in changed.items():
        setattr(account, name, value)
    account.full_clean(exclude=["project", "current_strategy"])
    TradingAccount.objects.filter(pk=account.pk).update(**changed)
    RiskEvent(
        account=account,
        kind=RiskEvent.Kind.LIMITS,
        from_status="",
        to_status="changed",
        actor=actor,
        reason=reason,
        detail={"before": before, "changed": sorted(changed)},
    ).save(force_insert=True)


def limits_apply_approved(*, account_id: int, approval_id: int, limits: dict, approver: str):
    """The limit_change consumer: applies an approved loosening (idempotent: a value already
    in place changes nothing)."""
    with transaction.atomic():
        locked_day(account_id)
        account = ACCOUNT.lock(account_id)
        changed = {n: v for n, v in limits.items() if n in LIMIT_FIELDS}
        changed = {
            n: (Decimal(v) if n not in ("allowed_symbols",) and isinstance(v, str) else v)
            for n, v in changed.items()
        }
        changed = {n: v for n, v in changed.items() if getattr(account, n) != v}
        if changed:
            _apply_limits(account, changed, actor=approver, reason=f"approval #{approval_id}")


def account_equity_report(*, account: TradingAccount, equity: Decimal, actor: str) -> AccountDay:
    """Equity now: raises the peak, and halts the account when the drawdown from the peak
    reaches the limit."""
    now = timezone.now()
    with transaction.atomic():
        day = locked_day(account.pk)
        peak = max(day.equity_peak or equity, equity)
        AccountDay.objects.filter(pk=day.pk).update(
            equity=equity, equity_peak=peak, equity_reported_at=now
        )
        day.equity, day.equity_peak, day.equity_reported_at = equity, peak, now
        account = day.account
        drawdown = (peak - equity) / peak * 100 if peak else Decimal(0)
        if drawdown >= account.max_drawdown_pct and account.status != AccountStatus.HALTED:
            breach(
                account,
                AccountStatus.HALTED,
                "DRAWDOWN_EXCEEDS_MAX",
                f"drawdown {drawdown:.2f}% from peak {peak} reached {account.max_drawdown_pct}%",
            )
    return day


def breach(account: TradingAccount, status: str, code: str, why: str) -> None:
    """An automatic state change (in the caller's transaction, day row locked)."""
    RiskEvent(
        account=account,
        kind=RiskEvent.Kind.BREACH,
        from_status="",
        to_status=code,
        actor=SYSTEM,
        reason=why[:500],
    ).save(force_insert=True)
    if account.status != status and ACCOUNT.allows(account.status, status):
        ACCOUNT.move(account, status, actor=SYSTEM, reason=why[:500], detail={"breach": code})


def strategy_version_create(
    *, account: TradingAccount, version: str, content: dict, key: AgentKey | None, actor: str
) -> tuple[StrategyVersion, bool]:
    """A content-hashed version becomes the account's current one; it blocks live trading
    until someone other than its requester approves it. The same version and content again is
    a replay; the same version with other content is refused."""
    content_hash = sha256_of(content)
    existing = StrategyVersion.objects.filter(account=account, version=version).first()
    if existing is not None:
        if existing.content_hash != content_hash:
            raise Unprocessable(
                "This strategy version exists with other content.", code="strategy_version_reused"
            )
        return existing, False
    with transaction.atomic():
        locked_day(account.pk)
        strategy = StrategyVersion.objects.create(
            account=account,
            version=version,
            content=content,
            content_hash=content_hash,
            requested_by=actor,
        )
        approval = approval_request_create(
            project=account.project,
            kind=ApprovalKind.STRATEGY_VERSION,
            subject=f"trading-account:{account.pk}:strategy",
            title=f"Strategy {version} for {account.name}",
            payload={"account": account.pk, "version": version, "content_hash": content_hash},
            target_id=strategy.pk,
            requested_by_key=key,
        )
        StrategyVersion.objects.filter(pk=strategy.pk).update(approval_id=approval.pk)
        strategy.approval_id = approval.pk
        TradingAccount.objects.filter(pk=account.pk).update(current_strategy=strategy)
        RiskEvent(
            account=account,
            kind=RiskEvent.Kind.STRATEGY,
            from_status="",
            to_status=version,
            actor=actor,
            reason=f"new strategy version {content_hash[:12]}",
        ).save(force_insert=True)
    return strategy, True


def strategy_follow_approval(news) -> None:
    if news.status != "approved" or news.target_id is None:
        return
    with transaction.atomic():
        StrategyVersion.objects.filter(
            Q(pk=news.target_id), Q(approval_id=news.request_id), Q(approved_at__isnull=True)
        ).update(approved_at=timezone.now())


def strategies_waiting(limit: int):
    """Strategy versions whose approval was decided but not applied (a lost delivery)."""
    from approvals.consumers import ApprovalNews
    from approvals.models import ApprovalRequest

    waiting = StrategyVersion.objects.filter(approved_at__isnull=True, approval_id__isnull=False)
    decided = ApprovalRequest.objects.filter(
        pk__in=waiting.values("approval_id"), status__in=["approved", "consumed"]
    ).values_list("pk", "target_id", "status")[:limit]
    return [
        ApprovalNews(request_id=pk, kind=ApprovalKind.STRATEGY_VERSION, target_id=t, status=s)
        for pk, t, s in decided
    ]


def limit_change_follow_approval(news) -> None:
    """The limit_change consumer: the approved request's own payload names the limits."""
    from approvals.models import ApprovalRequest

    if news.status != "approved" or news.target_id is None:
        return
    request = ApprovalRequest.objects.get(pk=news.request_id)
    limits_apply_approved(
        account_id=news.target_id,
        approval_id=request.pk,
        limits=request.payload.get("limits", {}),
        approver=f"approval:{request.pk}",
    )


def limit_changes_waiting(limit: int):
    return []  # applying is idempotent; a lost delivery is re-sent by approving again


def live_trading_request(*, account: TradingAccount, user: AbstractBaseUser, reason: str):
    """Asks for a live_trading approval of ``account`` (an operator other than ``user``
    approves it; it is valid for the approvals' validity window)."""
    _supervisor(user, account, "ask for live trading")
    return approval_request_create(
        project=account.project,
        kind=ApprovalKind.LIVE_TRADING,
        subject=f"trading-account:{account.pk}:live",
        title=f"Live trading for {account.name}",
        payload={"account": account.pk, "limits": account.limits_snapshot()},
        target_id=account.pk,
        summary=reason,
        requested_by_user=user,
    )
