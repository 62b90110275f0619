"""The US sandbox rails' banking calendar: the Federal Reserve's banking days, in Eastern time.

This module is not a plugin (it implements no hook): it is the sandbox rails' own helper, as a rail
distribution keeps helpers in its package. Their ledger is public in the core
(:mod:`linx_core.sandbox`), for third-party sandbox rails too. Everything reads time from
``linx_core.clock``, so a test's :class:`~linx_core.clock.FrozenClock` drives cut-offs, settlement and returns.
"""
import datetime as dt

from linx_core.payments import Arrival

try:
    from zoneinfo import ZoneInfo

    EASTERN = ZoneInfo("America/New_York")
except Exception:  # noqa: BLE001 - no time zone database: Eastern Standard Time all year
    EASTERN = dt.timezone(dt.timedelta(hours=-5), "EST")

UTC = dt.UTC


# -- the banking calendar -------------------------------------------------------------------------

def _nth_weekday(year, month, weekday, n):
    """The ``n``-th ``weekday`` (0 = Monday) of the month; ``n = -1`` for the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day):
    """A holiday on a Sunday is observed on Monday; one on a Saturday is not moved (as the Federal Reserve does)."""
    return day + dt.timedelta(days=1) if day.weekday() == 6 else day


def holidays(year):
    """The Federal Reserve's holidays of ``year``: no settlement on these days."""
    return {
        _observed(dt.date(year, 1, 1)),        # New Year's Day
        _nth_weekday(year, 1, 0, 3),            # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),            # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),           # Memorial Day
        _observed(dt.date(year, 6, 19)),       # Juneteenth
        _observed(dt.date(year, 7, 4)),        # Independence Day
        _nth_weekday(year, 9, 0, 1),            # Labor Day
        _nth_weekday(year, 10, 0, 2),           # Columbus Day
        _observed(dt.date(year, 11, 11)),      # Veterans Day
        _nth_weekday(year, 11, 3, 4),           # Thanksgiving
        _observed(dt.date(year, 12, 25)),      # Christmas
    }


def is_banking_day(day):
    return day.weekday() < 5 and day not in holidays(day.year)


def next_banking_day(day, include_today=False):
    day = day if include_today else day + dt.timedelta(days=1)
    while not is_banking_day(day):
        day += dt.timedelta(days=1)
    return day


def add_banking_days(day, n):
    for _ in range(n):
        day = next_banking_day(day)
    return day


def eastern(day, hour, minute=0):
    """``day`` at ``hour:minute`` Eastern time, as an aware UTC datetime."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=EASTERN).astimezone(UTC)


def eastern_date(moment):
    return moment.astimezone(EASTERN).date()


def settling(now, settle_at):
    """The :class:`~linx_core.payments.Arrival` of a transfer confirmed at ``now`` that settles at ``settle_at``.

    Counted in Eastern banking days: the same day, the next banking day, or later.
    """
    today, settle_day = eastern_date(now), eastern_date(settle_at)
    if settle_day == today:
        kind = "same-business-day"
    elif settle_day == next_banking_day(today):
        kind = "next-business-day"
    else:
        kind = "business-days"
    return Arrival(kind, by=settle_at)
