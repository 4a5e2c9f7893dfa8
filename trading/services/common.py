"""What every trading write shares: the account's day row, locked first (the one lock order:
day row, then the account, its kill switch, positions and decisions), and rolled over to the
account's trading date."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from trading.models import AccountDay, TradingAccount


def trading_date(account: TradingAccount, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(ZoneInfo(account.time_zone)).date()


def locked_day(account_id: int) -> AccountDay:
    """The account's day row under FOR UPDATE, with the account and its kill switch read after
    the lock (so what they say is what every other writer already committed)."""
    day = AccountDay.objects.select_for_update().get(account_id=account_id)
    # A second statement, not a join in the locking one: on PostgreSQL a join's other rows come
    # from the snapshot taken before the lock wait, so a kill switch engaged meanwhile would
    # be missed. This statement's snapshot starts after the lock is ours.
    day.account = TradingAccount.objects.select_related("kill_switch", "current_strategy").get(
        pk=account_id
    )
    return day


def rolled_over(day: AccountDay, now: datetime) -> dict:
    """The daily counters to reset when the trading date moved on (applied with the caller's
    UPDATE); the day row in memory is reset too."""
    today = trading_date(day.account, now)
    if day.trading_date == today:
        return {}
    reset = {"trading_date": today, "orders_today": 0, "realised_pnl_today": 0}
    for name, value in reset.items():
        setattr(day, name, value)
    return reset
