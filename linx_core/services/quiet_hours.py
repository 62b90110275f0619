"""Quiet hours: no SMS that LinX starts (a first message, a reminder, an expiry notice) reaches a customer at
night in the customer's own time; it waits for the morning.

The customer's time zones come from the phone number (phonenumbers' time zone data). A number that spans
several zones is quiet when any of them is: the message waits until every one of them is past its morning.
A number whose zones are never all awake at once (a toll-free number spans Guam to Bermuda) is not held.
The hours are the rule files' ``notifications.quietHours``; ``LINX_QUIET_HOURS`` switches them (``auto``: on
in production, off in development so that ``make run`` shows its messages at any hour).
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

if TYPE_CHECKING:  # pragma: no cover
    from ..runtime import Runtime

#: the origins LinX starts; the answers to a customer's own action (a completion) go at once
ORIGINS = ("INITIAL", "REMINDER", "EXPIRY")


@lru_cache(maxsize=4096)
def zones(number: str) -> tuple[ZoneInfo, ...]:
    """The time zones of ``number`` (E.164); none when unknown."""
    try:
        names = number_zones.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return ()
    found = []
    for name in names:
        try:
            found.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):  # "Etc/Unknown"
            continue
    return tuple(found)


def _clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def morning(rt: Runtime, number: str | None, now: dt.datetime) -> dt.datetime | None:
    """When a message LinX starts may reach ``number``, if ``now`` is in its quiet hours; None: now is fine."""
    spec = rt.rules.notifications.get("quietHours")
    if not number or not spec or not rt.settings.quiet:
        return None
    start, end = _clock(spec["start"]), _clock(spec["end"])
    at = now
    for _ in range(4):  # the zones' mornings, until none is quiet (a few rounds at most)
        later = [_wake(at, zone, start, end) for zone in zones(number)]
        wake = max((w for w in later if w is not None), default=None)
        if wake is None:
            return at if at != now else None
        at = wake
    return None  # never all awake at once: not held


def _wake(at: dt.datetime, zone: ZoneInfo, start: dt.time, end: dt.time) -> dt.datetime | None:
    """When the quiet hours around ``at`` end in ``zone``; None when ``at`` is not in them there."""
    local = at.astimezone(zone)
    clock = local.time()
    quiet = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not quiet:
        return None
    day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=zone).astimezone(dt.UTC)
