"""Times as people read them: French local time, « 17h21 ».

The platform stores and exchanges instants in UTC. Wherever a person reads one (web pages,
MonSisra's table, ``sisra client list``, e-mails) it is shown in the platform's time zone
(``SISRA_TIMEZONE``, Europe/Paris by default), which MonSisra learns from
``GET /api/v1/platform``; a file meant for software (XDM, HPRIM) keeps UTC and says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Europe/Paris"


def zone(name: str | None) -> tzinfo | None:
    """The time zone called ``name`` (« Europe/Paris »), or None when unknown or not given
    (then the computer's own zone is used)."""
    if not name or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def valid_zone(name: str) -> bool:
    return zone(name) is not None


# the zone the platform displays times in: its settings' for the request being served (set
# by the app's DisplayZone middleware), else the one set when the app was created
_platform_zone: str = DEFAULT_ZONE
_request_zone: ContextVar[str | None] = ContextVar("sisra_display_zone", default=None)


def set_platform_zone(name: str) -> None:
    global _platform_zone
    _platform_zone = name


@contextmanager
def zone_in_use(name: str) -> Iterator[None]:
    """Times shown in ``name`` within this context (a request, a job)."""
    token = _request_zone.set(name)
    try:
        yield
    finally:
        _request_zone.reset(token)


def platform_zone() -> tzinfo:
    """The platform's display zone (``SISRA_TIMEZONE``), Europe/Paris by default."""
    return zone(_request_zone.get() or _platform_zone) or zone(DEFAULT_ZONE) or UTC


def instant(value: datetime | str) -> datetime:
    """An aware datetime from an ISO string or a datetime (naive values are UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local(value: datetime | str, tz: tzinfo | None) -> datetime:
    """``value`` in ``tz`` (None: this computer's zone)."""
    return instant(value).astimezone(tz)


# The formats below are written from the fields, not with strftime: each strftime call imports
# the time module again, which Qt's import hook makes ~10 µs (MonSisra's table formats 10,000).


def hhmm(moment: datetime) -> str:
    """« 17h21 » (``moment`` already in the zone to show)."""
    return f"{moment.hour:02d}h{moment.minute:02d}"


def fr_datetime(value: datetime | str, tz: tzinfo | None, sep: str = " à ") -> str:
    """« 06/12/2026 à 17h21 » in ``tz`` (``sep=" "`` for a table column)."""
    m = local(value, tz)
    return f"{m.day:02d}/{m.month:02d}/{m.year}{sep}{m.hour:02d}h{m.minute:02d}"


def day_start(day: date) -> datetime:
    """The first instant (UTC) of ``day`` in the platform's zone: a search « du … au … »
    covers whole local days."""
    return datetime.combine(day, time.min, tzinfo=platform_zone()).astimezone(UTC)
