"""The customer's time zone: times a customer reads (a link's expiry, when money arrives) are in it, not UTC.

The store keeps UTC. A customer reached by phone is in the zone of the number's region, from phonenumbers'
time zone data (``+1 416`` is ``America/Toronto``); a number whose region spans zones that read differently at
the moment shown (a toll-free number, a whole country) says nothing, and neither does an email address. Then
the business's zone (``timeZone`` in its settings) serves, else UTC. Whichever it is, the time is shown with
its zone named (``EST``, ``HNE``, ``UTC``), so a customer elsewhere still reads it right.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones

if TYPE_CHECKING:  # pragma: no cover
    from .store.models import Business, Workflow

UTC = dt.UTC
UNKNOWN = "Etc/Unknown"


@functools.lru_cache(maxsize=256)
def zone(name: str | None) -> dt.tzinfo | None:
    """The IANA zone ``name``, or None for no name, an unknown one, or no time zone database on this host."""
    if not name or name == UNKNOWN:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_for_phone(number: str | None, at: dt.datetime | None = None) -> dt.tzinfo | None:
    """The zone of the phone number's region, or None (no number, no region, several zones). Zones that read
    the same at ``at`` (the moment shown; now by default) count as one: a UK mobile's London, Guernsey,
    Jersey and Isle of Man are all GMT in December and BST in July."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    names: Any = phone_zones.time_zones_for_number(parsed)
    if tuple(names) == (UNKNOWN,):  # a number outside the plan's ranges still has a region by its prefix
        names = phone_zones.time_zones_for_geographical_number(parsed)
    zones = [z for z in (zone(n) for n in names if n != UNKNOWN) if z is not None]
    if not zones:
        return None
    moment = local(at or dt.datetime.now(UTC), UTC)
    readings = {(moment.astimezone(z).utcoffset(), moment.astimezone(z).tzname()) for z in zones}
    return zones[0] if len(readings) == 1 else None


def business_zone(business: Business | None) -> dt.tzinfo:
    """The business's zone (``timeZone`` in its settings), else UTC."""
    settings = (business.settings or {}) if business is not None else {}
    return zone(settings.get("timeZone")) or UTC


def customer_zone(workflow: Workflow, business: Business | None = None, at: dt.datetime | None = None) -> dt.tzinfo:
    """Where the workflow's customer reads times (the moment ``at``): their phone number's zone, else the
    business's, else UTC."""
    return zone_for_phone(workflow.phone_number, at) or business_zone(business)


def local(when: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """``when`` (naive is UTC, as the store keeps it) in ``tz``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(tz)


def zone_name(moment: dt.datetime) -> str:
    """The zone database's abbreviation of an aware ``moment``'s zone (``EST``, ``CET``), or its offset from UTC
    (``UTC-03``) for a zone that has none."""
    name = moment.tzname() or "UTC"
    if name[:1] in "+-":
        name = "UTC" + name[:3] + (name[3:] if name[3:] not in ("", "00") else "")
    return name


def message_time(when: dt.datetime, tz: dt.tzinfo) -> str:
    """``Dec 03, 2026 14:05 EST``: a time in a message (the rule files' ``{expires}``), its zone named."""
    moment = local(when, tz)
    return f"{moment:%b %d, %Y %H:%M} {zone_name(moment)}"


__all__ = ["business_zone", "customer_zone", "local", "message_time", "zone", "zone_for_phone", "zone_name"]
