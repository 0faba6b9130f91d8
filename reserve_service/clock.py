"""The service's time zone: times given without an offset are wall-clock times there.

``Asia/Shanghai`` unless the ``TIME_ZONE`` setting names another IANA zone; ``create_app``
sets it once. Pure: no Flask.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"
_zone: list[dt.tzinfo] = [ZoneInfo(DEFAULT_TIME_ZONE)]


def set_local_zone(name: str) -> dt.tzinfo:
    """Make ``name`` the zone of zone-less times; ``ValueError`` for an unknown zone."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    _zone[0] = zone
    return zone


def local_zone() -> dt.tzinfo:
    """The zone in which times given without an offset are read."""
    return _zone[0]


def aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` with its zone; a zone-less one is read as a wall-clock time of :func:`local_zone`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=local_zone())
    return moment


def local_date(moment: dt.date | dt.datetime) -> dt.date:
    """The calendar day of ``moment`` in the service's zone (a date is its own day)."""
    if isinstance(moment, dt.datetime):
        return aware(moment).astimezone(local_zone()).date()
    return moment
