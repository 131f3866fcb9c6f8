"""When a guest is expected, as data and as text a person reads in their own language.

A guest's times are their own: the slot they booked (a 20-minute massage, not
the whole afternoon) or every day of a residency. Mail bodies, the data export
and the invites all read them from `rsvp_days`, so they always agree.

The text is Babel's, in the guest's locale and the programme's time zone, with
the zone's abbreviation after the times; a time inside a repeated hour (01:30
on the night clocks go back) also gets its UTC offset, so 01:30 BST (UTC+1) and
01:30 GMT (UTC+0) can never be mistaken for each other.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

from planner.calendar.ics import ambiguous
from planner.scheduling.tables import Slot


def babel_locale(language: str | None) -> Locale:
    """The Babel locale for a language tag (es, pt-BR, en_GB); English when Babel does not know it."""
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


async def rsvp_days(rsvp: dict) -> list[dict]:
    """The guest's own times: their slot, or every day of a residency (applied for as a whole).

    `rsvp` needs `slot`, the activity's id (`activity.id` or `activity`) and its kind
    (`activity.kind` or `kind`). Each day is {"slot", "starts_at", "ends_at"}, in order.
    """
    kind = rsvp.get("activity.kind", rsvp.get("kind"))
    activity = rsvp.get("activity.id", rsvp.get("activity"))
    query = Slot.select(Slot.id, Slot.starts_at, Slot.ends_at)
    if kind == "residency":
        rows = await query.where(Slot.activity == activity).order_by(Slot.starts_at).order_by(Slot.id)
    else:
        rows = await query.where(Slot.id == rsvp["slot"])
    return [{"slot": row["id"], "starts_at": row["starts_at"], "ends_at": row["ends_at"]} for row in rows]


def zone_label(value: datetime, tz: ZoneInfo) -> str:
    """The zone's abbreviation at that instant (EDT, BST, CEST), or UTC+11 where the zone has none;
    with the offset too when the local time is ambiguous."""
    local = value.astimezone(tz)
    offset = _utc_offset(local.utcoffset() or timedelta(0))
    name = local.tzname() or ""
    if not name or not name.isalpha():
        return offset
    return f"{name} ({offset})" if ambiguous(value, tz) else name


def _utc_offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_span(starts_at: datetime, ends_at: datetime, timezone: str, language: str | None) -> str:
    """One span, e.g. "Friday, July 2, 2027, 10:00 AM – 10:20 AM EDT" or "viernes, 2 de julio de 2027, 10:00–10:20 EDT"."""
    tz = ZoneInfo(timezone)
    locale = babel_locale(language)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    day = format_date(start.date(), "full", locale=locale)
    t1 = format_time(start, "short", tzinfo=tz, locale=locale)
    t2 = format_time(end, "short", tzinfo=tz, locale=locale)
    z1, z2 = zone_label(starts_at, tz), zone_label(ends_at, tz)
    if start.date() == end.date():
        if z1 == z2:
            return f"{day}, {t1} – {t2} {z1}"
        return f"{day}, {t1} {z1} – {t2} {z2}"
    return f"{day}, {t1} {z1} – {format_date(end.date(), 'full', locale=locale)}, {t2} {z2}"


def format_days(days: Iterable[dict], timezone: str, language: str | None) -> list[str]:
    """Each of a guest's days (from `rsvp_days`) as a line of text."""
    return [format_span(day["starts_at"], day["ends_at"], timezone, language) for day in days]


def format_moment(value: datetime, timezone: str, language: str | None) -> str:
    """A single moment (an offer's deadline), e.g. "Fri, Jul 2, 2027, 6:00 PM EDT"."""
    tz = ZoneInfo(timezone)
    locale = babel_locale(language)
    local = value.astimezone(tz)
    return (f"{format_date(local.date(), 'medium', locale=locale)}, "
            f"{format_time(local, 'short', tzinfo=tz, locale=locale)} {zone_label(value, tz)}")
