"""Reconciliation with the broker: read its orders, positions and account (outside any
transaction), then compare them with the account's allowed checks under the day-row lock.

- An order at the broker that no allowed check of the project knows (same client_order_id,
  symbol, side and quantity) halts the account (a ``breach`` RiskEvent, the account's state
  machine) and alerts the project's trading supervisors, once per broker order: a supervisor
  who resumes the account is not halted again by an order already seen.
- Positions that differ from ours are kept on the account (``broker_drift``) for the admin.
- The broker's equity is reported like an agent's equity report (peak and drawdown).
- A broker that cannot be read leaves ``reconcile_error`` on the account and changes nothing.

Orders are read from the account's creation on (older ones are not the platform's), with an
hour's overlap before the previous reconciliation, at most 500 per run (Alpaca's page)."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from autopack_site.models import ProjectMembership
from autopack_site.outbox import outbox_send
from autopack_site.roles import Capability, roles_with
from ledger.conf import ledger_settings
from ledger.models import ProviderCredential
from ledger.providers.alpaca import AlpacaAdapter
from ledger.providers.base import ProviderContext, ProviderError
from ledger.providers.registry import default_base_url, get_adapter
from ledger.services.credentials import CredentialProblem, credential_secret
from trading.models import (
    AccountStatus,
    Broker,
    BrokerOrder,
    Mode,
    OrderDecision,
    Position,
    TradingAccount,
)
from trading.services.accounts import SYSTEM, account_equity_report, breach
from trading.services.common import locked_day

logger = logging.getLogger(__name__)

OVERLAP = timedelta(hours=1)
UNKNOWN_ORDER = "UNKNOWN_BROKER_ORDER"


@dataclass
class Reconciliation:
    account_id: int
    orders_seen: int = 0
    unknown: list[str] = field(default_factory=list)  # broker order ids first seen now
    drift: dict[str, dict[str, str]] = field(default_factory=dict)
    equity: Decimal | None = None
    error: str = ""
    skipped: str = ""


class ReconcileProblem(Exception):
    pass


def _broker_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def broker_credential(account: TradingAccount) -> ProviderCredential:
    """The account's own credential for its mode (paper or live); without one, the project's
    active Alpaca credential of the ledger's environment."""
    credential = account.live_credential if account.mode == Mode.LIVE else account.paper_credential
    if credential is None:
        credential = ProviderCredential.objects.filter(
            project_id=account.project_id,
            provider="alpaca",
            environment=ledger_settings().environment,
            active=True,
        ).first()
    if credential is None:
        raise ReconcileProblem("no active Alpaca credential for this account")
    return credential


def _context(account: TradingAccount) -> ProviderContext:
    ledger = ledger_settings()
    try:
        secret = credential_secret(broker_credential(account))
    except CredentialProblem as problem:
        raise ReconcileProblem(str(problem)) from None
    return ProviderContext(
        base_url=ledger.base_url("alpaca") or default_base_url("alpaca"),
        secret=secret,
        timeout=float(ledger.call_timeout_seconds),
    )


def account_reconcile(*, account_id: int, actor: str = SYSTEM) -> Reconciliation:
    result = Reconciliation(account_id=account_id)
    account = TradingAccount.objects.get(pk=account_id)
    if account.broker != Broker.ALPACA:
        result.skipped = "a simulated account has no broker to reconcile with"
        return result
    since = account.created_at
    if account.reconciled_at is not None:
        since = max(since, account.reconciled_at - OVERLAP)
    # The network, outside any transaction.
    try:
        adapter = get_adapter("alpaca")
        if not isinstance(adapter, AlpacaAdapter):
            raise ReconcileProblem("no Alpaca adapter registered")
        ctx = _context(account)
        orders = adapter.broker_orders(ctx, after=_broker_time(since))
        positions = adapter.broker_positions(ctx)
        broker_account = adapter.broker_account(ctx)
    except (ReconcileProblem, ProviderError) as problem:
        result.error = f"{type(problem).__name__}: {problem}"[:500]
        logger.warning("reconciliation failed", extra={"account": account_id})
        TradingAccount.objects.filter(pk=account_id).update(reconcile_error=result.error)
        return result
    result.orders_seen = len(orders)
    with transaction.atomic():
        locked_day(account_id)  # every writer of the account takes this lock first
        account = TradingAccount.objects.get(pk=account_id)
        result.unknown = _record_orders(account, orders)
        if result.unknown:
            breach(
                account,
                AccountStatus.HALTED,
                UNKNOWN_ORDER,
                f"{len(result.unknown)} order(s) at the broker without an allowed check: "
                + ", ".join(result.unknown[:5]),
            )
            outbox_send("trading.tasks.unknown_orders_alert", account_id, result.unknown)
        result.drift = _drift(account, positions)
        TradingAccount.objects.filter(pk=account_id).update(
            reconciled_at=timezone.now(), reconcile_error="", broker_drift=result.drift
        )
    equity = _decimal(broker_account.get("equity"))
    if equity is not None and equity >= 0:
        result.equity = equity
        account_equity_report(account=account, equity=equity, actor=actor)
    return result


def _record_orders(account: TradingAccount, orders: list[dict]) -> list[str]:
    """Records the orders not seen before; returns the ids of the new ones no check knows."""
    by_id = {str(o.get("id")): o for o in orders if o.get("id")}
    seen = set(
        BrokerOrder.objects.filter(account=account, broker_order_id__in=by_id).values_list(
            "broker_order_id", flat=True
        )
    )
    fresh = {broker_id: o for broker_id, o in by_id.items() if broker_id not in seen}
    decisions = {
        d.client_order_id: d
        for d in OrderDecision.objects.filter(
            project_id=account.project_id,
            allowed=True,
            client_order_id__in=[str(o.get("client_order_id") or "") for o in fresh.values()],
        )
    }
    unknown, rows = [], []
    for broker_id, order in fresh.items():
        decision = decisions.get(str(order.get("client_order_id") or ""))
        qty = _decimal(order.get("qty"))
        known = (
            decision is not None
            and decision.symbol == order.get("symbol")
            and decision.side == order.get("side")
            and decision.qty == qty
        )
        rows.append(
            BrokerOrder(
                account=account,
                broker_order_id=broker_id[:64],
                client_order_id=str(order.get("client_order_id") or "")[:128],
                symbol=str(order.get("symbol") or "")[:12],
                side=str(order.get("side") or "")[:8],
                qty=qty,
                status=str(order.get("status") or "")[:32],
                broker_created_at=str(order.get("created_at") or "")[:40],
                decision=decision if known else None,
                known=known,
            )
        )
        if not known:
            unknown.append(broker_id)
    BrokerOrder.objects.bulk_create(rows, ignore_conflicts=True)
    return unknown


def _drift(account: TradingAccount, positions: list[dict]) -> dict[str, dict[str, str]]:
    broker = {str(p.get("symbol")): _decimal(p.get("qty")) or Decimal("0") for p in positions}
    ours = dict(Position.objects.filter(account=account).values_list("symbol", "qty"))
    drift = {}
    for symbol in sorted(set(broker) | set(ours)):
        theirs, mine = broker.get(symbol, Decimal("0")), ours.get(symbol, Decimal("0"))
        if theirs != mine:
            drift[symbol] = {"ours": format(mine.normalize(), "f"), "broker": format(theirs, "f")}
    return drift


def accounts_reconcile(*, limit: int = 200) -> list[Reconciliation]:
    """The schedule: every Alpaca account, one after the other; one failing broker read does
    not stop the others."""
    ids = (
        TradingAccount.objects.filter(broker=Broker.ALPACA)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [account_reconcile(account_id=pk) for pk in list(ids[:limit])]


def unknown_orders_alert(*, account_id: int, broker_order_ids: list[str]) -> int:
    """Tells the project's trading supervisors (or AUTOPACK_NOTIFY_EMAILS) that orders no
    check knows were found and the account is halted. Returns how many were told."""
    account = TradingAccount.objects.select_related("project").get(pk=account_id)
    logger.error(
        "unknown orders at the broker; account halted",
        extra={"account": account_id, "orders": broker_order_ids[:20]},
    )
    recipients = list(settings.AUTOPACK_NOTIFY_EMAILS) or list(
        ProjectMembership.objects.filter(
            project_id=account.project_id, role__in=roles_with(Capability.SUPERVISE_TRADING)
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
        .distinct()
    )
    if not recipients:
        return 0
    send_mail(
        f"[Autopack] {account.project.slug}: trading account {account.name} halted — "
        f"{len(broker_order_ids)} unknown order(s) at the broker",
        "Reconciliation found orders at the broker that no allowed pre-trade check knows:\n"
        + "\n".join(f"  {order_id}" for order_id in broker_order_ids[:50])
        + f"\n\nThe account is halted. Review it: {settings.AUTOPACK_BASE_URL.rstrip('/')}"
        f"/admin/trading/tradingaccount/{account.pk}/change/\n",
        None,
        recipients,
    )
    return len(recipients)
