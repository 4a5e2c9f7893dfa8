"""Reads for trading, scoped to a project."""

from django.db.models import QuerySet

from autopack_site.models import Project
from trading.models import OrderDecision, RiskEvent, TradingAccount


def accounts_for_project(*, project: Project) -> QuerySet[TradingAccount]:
    return (
        TradingAccount.objects.filter(project=project)
        .select_related("day", "kill_switch", "current_strategy")
        .order_by("pk")
    )


def account_get(*, project: Project, pk: int) -> TradingAccount | None:
    return accounts_for_project(project=project).filter(pk=pk).first()


def account_ref(*, project: Project, pk: int) -> TradingAccount | None:
    """The account's id and project only: what a check needs before it takes the day-row lock,
    after which it reads the account afresh (trading/services/common.py locked_day)."""
    return TradingAccount.objects.only("pk", "project_id").filter(project=project, pk=pk).first()


def recent_decisions(*, account: TradingAccount, limit: int = 20) -> list[OrderDecision]:
    return list(account.decisions.order_by("-pk")[:limit])


def recent_events(*, account: TradingAccount, limit: int = 20) -> list[RiskEvent]:
    return list(RiskEvent.objects.filter(account=account).order_by("-pk")[:limit])
