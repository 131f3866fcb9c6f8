"""Time helpers. Rules take `now` as an argument; only handlers call `utcnow()`."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from planner.errors import PlannerError
from planner.i18n import _l


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def stored_utc(value: Any) -> Any:
    """A time read back by a raw select, as an aware UTC datetime (None stays None): SQLite hands back
    naive UTC text, PostgreSQL aware datetimes."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def zone(name: str) -> ZoneInfo:
    if not name or name not in _zones():
        raise PlannerError(_l("“{name}” is not a known IANA time zone (for example Europe/London or America/New_York).", name=name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PlannerError(_l("“{name}” is not a known IANA time zone.", name=name)) from exc


_ZONES: set[str] | None = None


def _zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    return _ZONES


# Programmes plan festivals and seasons: a year outside this range is a typing slip (0001, 9999).
YEARS = (2000, 2100)


def _plausible(value: date, field: str) -> None:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise PlannerError(_l("{field} is in the year {year}; give a date between {first} and {last}.",
                              field=field, year=value.year, first=YEARS[0], last=YEARS[1]), extra={"field": field})


def as_utc(value: datetime | str, tz: str, field: str = "time") -> datetime:
    """Read a time: ISO 8601 with an offset, or local to the programme's zone without one."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise PlannerError(_l("{field} must be an ISO 8601 date and time, like 2026-07-03T18:00.", field=field)) from exc
    _plausible(value, field)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(timezone.utc).replace(microsecond=0)


def local(value: datetime, tz: str) -> datetime:
    return value.astimezone(ZoneInfo(tz))


def parse_date(value: date | str, field: str) -> date:
    if not (isinstance(value, date) and not isinstance(value, datetime)):
        try:
            value = date.fromisoformat(str(value))
        except ValueError as exc:
            raise PlannerError(_l("{field} must be a date like 2026-07-03.", field=field)) from exc
    _plausible(value, field)
    return value
