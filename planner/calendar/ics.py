"""iCalendar (RFC 5545) invites and feeds, as bytes.

Pure: no database, no clock, no Litestar. Callers pass plain values (times
timezone-aware, usually UTC) and `now`; the handler sets the media type
(`text/calendar; charset=utf-8`, with `method=REQUEST` or `method=CANCEL` on
invites).

Content lines are written here rather than through icalendar's object model:
measured, the object model needs about 0.5 s for a 2,000-event feed, this
writer about 30 ms. Only the VTIMEZONE comes from icalendar, cached per zone
and year range. The tests parse everything back with icalendar and
recurring_ical_events to prove the two agree.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import icalendar

PRODID = "-//Festival Wellness Planner//planner//EN"
MEDIA_TYPE = "text/calendar; charset=utf-8"
FEED_REFRESH = "PT1H"

Method = Literal["REQUEST", "CANCEL"]
Status = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]

# Every guest-facing sentence of the description, in one place for translation later.
TEXT = {
    "what_to_bring": "What to bring: {what}",
    "manage": "Your page (see, change or cancel): {url}",
    "support": "Support, if you need it:",
    "phone": "call {phone}",
    "sms": "text {sms}",
    "details": "Details and RSVP: {url}",
    "draft": "Draft: not published yet.",
    "organize": "Manage: {url}",
    "guest_feed": "{programme}: your places",
    "user_feed": "Wellness planner: {who}",
}


@dataclass(frozen=True, slots=True)
class InviteEvent:
    """One VEVENT of an invite: one slot of the guest's RSVP (one day of a residency).

    `uid` stays the same for the life of the RSVP and slot: see `rsvp_slot_uid`.
    """

    uid: str
    starts_at: datetime
    ends_at: datetime
    title: str
    location: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Invite:
    """An iTIP (RFC 5546) message for one RSVP: REQUEST while confirmed, CANCEL once cancelled.

    STATUS and the attendee's PARTSTAT follow from `method` (CONFIRMED/ACCEPTED,
    CANCELLED/DECLINED). `sequence` must rise with every change sent for the RSVP.
    `timezone` is the programme's IANA zone; `url` is the guest's personal page.
    `reminder` is how long before the start the VALARM fires (None: no alarm).
    """

    method: Method
    sequence: int
    organizer_email: str
    organizer_name: str
    attendee_email: str
    attendee_name: str
    timezone: str
    events: Sequence[InviteEvent]
    now: datetime
    url: str = ""
    role: str = "REQ-PARTICIPANT"
    reminder: timedelta | None = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One VEVENT of a subscribable feed: one slot. No attendee data.

    `timezone` is the event's own IANA zone when it differs from the feed's (a
    user's feed spans programmes in different zones); empty means the feed's.
    """

    uid: str
    starts_at: datetime
    ends_at: datetime
    title: str
    location: str = ""
    description: str = ""
    url: str = ""
    sequence: int = 0
    status: Status = "CONFIRMED"
    timezone: str = ""


def rsvp_uid(rsvp_id: object, domain: str) -> str:
    """The UID of a guest's one-event invite (an activation or a dinner).

    It names the RSVP alone, so an organizer moving the guest to another slot
    updates the event in their calendar instead of adding a second one.
    """
    return f"rsvp-{rsvp_id}@{domain}"


def rsvp_slot_uid(rsvp_id: object, slot_id: object, domain: str) -> str:
    """The UID of a guest's invite for one slot; never changes for that RSVP and slot."""
    return f"rsvp-{rsvp_id}-slot-{slot_id}@{domain}"


def slot_uid(slot_id: object, domain: str) -> str:
    """The UID of a slot in feeds."""
    return f"slot-{slot_id}@{domain}"


def invite_description(what_to_bring: str, manage_url: str, resources: Iterable[Mapping[str, object]]) -> str:
    """The invite text: what to bring, the guest's page, then the local support resources.

    Each resource has a `name` and optionally `phone`, `sms`, `url` and `hours`.
    """
    parts: list[str] = []
    if what_to_bring.strip():
        parts.append(TEXT["what_to_bring"].format(what=what_to_bring.strip()))
    if manage_url:
        parts.append(TEXT["manage"].format(url=manage_url))
    lines = [_resource_line(resource) for resource in resources]
    if lines:
        parts.append("\n".join([TEXT["support"], *lines]))
    return "\n\n".join(parts)


def _resource_line(resource: Mapping[str, object]) -> str:
    ways = []
    if resource.get("phone"):
        ways.append(TEXT["phone"].format(phone=resource["phone"]))
    if resource.get("sms"):
        ways.append(TEXT["sms"].format(sms=resource["sms"]))
    if resource.get("url"):
        ways.append(str(resource["url"]))
    line = f"- {resource['name']}"
    if ways:
        line += ": " + ", ".join(ways)
    if resource.get("hours"):
        line += f" ({resource['hours']})"
    return line


def _event_lines(uid: str, sequence: int, stamp: str, starts_at: datetime, ends_at: datetime, zone, tzid: str,
                 title: str, location: str, description: str, url: str, status: str) -> list[str]:
    """The lines an invite's and a feed's VEVENT share, up to STATUS (the caller closes the event)."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(uid)}",
        f"SEQUENCE:{int(sequence)}",
        f"DTSTAMP:{stamp}",
        *_span(starts_at, ends_at, zone, tzid),
        f"SUMMARY:{_text(title)}",
    ]
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    if description:
        lines.append(f"DESCRIPTION:{_text(description)}")
    if url:
        lines.append(f"URL:{_uri(url)}")
    lines.append(f"STATUS:{status}")
    return lines


def build_invite(invite: Invite) -> bytes:
    """The invite as an iCalendar object: one VEVENT per slot, one VTIMEZONE."""
    if invite.method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, not {invite.method!r}")
    if not invite.events:
        raise ValueError("an invite needs at least one event")
    tz = ZoneInfo(invite.timezone)
    cancel = invite.method == "CANCEL"
    status = "CANCELLED" if cancel else "CONFIRMED"
    partstat = "DECLINED" if cancel else "ACCEPTED"
    stamp = _utc(invite.now)
    organizer = f"ORGANIZER;CN={_param(invite.organizer_name)}:mailto:{_uri(invite.organizer_email)}"
    attendee = (
        f"ATTENDEE;CN={_param(invite.attendee_name)};ROLE={_uri(invite.role)};"
        f"PARTSTAT={partstat};RSVP=FALSE:mailto:{_uri(invite.attendee_email)}"
    )
    # RFC 5546 allows no VALARM in a CANCEL.
    alarm = None if cancel or invite.reminder is None else f"TRIGGER:-{_duration(invite.reminder)}"
    lines = _calendar_head(method=invite.method)
    lines.extend(_vtimezone(invite.timezone, _years(invite.events, tz, invite.now)))
    for event in invite.events:
        lines += _event_lines(event.uid, invite.sequence, stamp, event.starts_at, event.ends_at, tz, invite.timezone,
                              event.title, event.location, event.description, invite.url, status)
        lines += [organizer, attendee]
        if alarm:
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", alarm, f"DESCRIPTION:{_text(event.title)}", "END:VALARM"]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return _serialise(lines)


def build_feed(name: str, timezone: str, events: Iterable[FeedEvent], now: datetime) -> bytes:
    """A subscribable calendar (METHOD:PUBLISH): a programme's, a guest's or an organizer's.

    `timezone` is the feed's zone (X-WR-TIMEZONE); an event with its own
    `timezone` is written in that zone, and every zone used gets a VTIMEZONE.
    """
    events = list(events)
    stamp = _utc(now)
    zones = {timezone: ZoneInfo(timezone)}
    for event in events:
        if event.timezone and event.timezone not in zones:
            zones[event.timezone] = ZoneInfo(event.timezone)
    lines = _calendar_head(method="PUBLISH")
    lines += [
        f"X-WR-CALNAME:{_text(name)}",
        f"X-WR-TIMEZONE:{_text(timezone)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{FEED_REFRESH}",
        f"X-PUBLISHED-TTL:{FEED_REFRESH}",
    ]
    for tzid, tz in zones.items():
        in_zone = [event for event in events if (event.timezone or timezone) == tzid]
        lines.extend(_vtimezone(tzid, _years(in_zone, tz, now)))
    for event in events:
        tzid = event.timezone or timezone
        lines += _event_lines(event.uid, event.sequence, stamp, event.starts_at, event.ends_at, zones[tzid], tzid,
                              event.title, event.location, event.description, event.url, event.status)
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return _serialise(lines)


def _calendar_head(*, method: str) -> list[str]:
    return ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", f"METHOD:{method}"]


def _years(events: Sequence[InviteEvent | FeedEvent], tz: ZoneInfo, now: datetime) -> tuple[int, int]:
    """The local years the VTIMEZONE must cover (the year of `now` for an empty feed)."""
    if not events:
        year = now.astimezone(tz).year
        return year, year
    first = min(event.starts_at for event in events).astimezone(tz).year
    last = max(event.ends_at for event in events).astimezone(tz).year
    return first, last


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, years: tuple[int, int]) -> tuple[str, ...]:
    # icalendar takes milliseconds to build a VTIMEZONE; a zone and year range rarely change.
    component = icalendar.Timezone.from_tzinfo(
        ZoneInfo(tzid), tzid=tzid, first_date=date(years[0], 1, 1), last_date=date(years[1] + 1, 1, 1)
    )
    # Unfold icalendar's output; `_serialise` folds every line the same way.
    text = component.to_ical().decode().replace("\r\n ", "")
    return tuple(line for line in text.split("\r\n") if line)


def _span(starts_at: datetime, ends_at: datetime, tz: ZoneInfo, tzid: str) -> list[str]:
    """DTSTART and DTEND in the programme's zone, or both in UTC when either needs it."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError(f"event times must be timezone-aware, got {starts_at!r} and {ends_at!r}")
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if _repeated(start) or _repeated(end):
        # The second pass through a repeated hour (clocks going back): RFC 5545 reads a
        # local time there as the first pass, so only UTC names this instant. Both ends
        # go in UTC, as readers (recurring_ical_events among them) mix zones badly.
        return [f"DTSTART:{_utc(starts_at)}", f"DTEND:{_utc(ends_at)}"]
    return [f"DTSTART;TZID={tzid}:{_stamp(start)}", f"DTEND;TZID={tzid}:{_stamp(end)}"]


def _repeated(local: datetime) -> bool:
    return bool(local.fold) and local.replace(fold=0).utcoffset() != local.utcoffset()


def _utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"times must be timezone-aware, got {value!r}")
    return _stamp(value.astimezone(UTC)) + "Z"


def _stamp(v: datetime) -> str:
    return "%04d%02d%02dT%02d%02d%02d" % (v.year, v.month, v.day, v.hour, v.minute, v.second)


def _duration(delta: timedelta) -> str:
    """A positive RFC 5545 duration (P1D, PT1H, PT1H30M); the sign is the caller's."""
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    parts = dict(zip("HMS", (rest // 3600, rest // 60 % 60, rest % 60)))
    units = [unit for unit, amount in parts.items() if amount]
    out = f"P{days}D" if days else "P"
    if units:
        # H, M and S must be contiguous: PT1H0M5S, never PT1H5S.
        keep = "HMS"["HMS".index(units[0]) : "HMS".index(units[-1]) + 1]
        out += "T" + "".join(f"{parts[unit]}{unit}" for unit in keep)
    return out if out != "P" else "PT0S"


# TEXT values: drop control characters other than tab and newline, then escape. A regex
# search and four str.replace calls are measured 5x faster than str.translate with a table,
# which was most of a 2,000-event feed's writing time.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_URI_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Parameter values are quoted; RFC 6868 carets carry the quote, newline and caret.
_PARAM_TABLE = {code: None for code in (*range(0x00, 0x20), 0x7F) if code not in (0x09, 0x0A)}
_PARAM_TABLE.update({ord("^"): "^^", ord('"'): "^'", ord("\n"): "^n"})


def _newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def _text(value: str) -> str:
    value = _newlines(value)
    if _CONTROL.search(value):
        value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _param(value: str) -> str:
    return '"' + _newlines(value).translate(_PARAM_TABLE) + '"'


def _uri(value: str) -> str:
    return _URI_CONTROL.sub("", value) if _URI_CONTROL.search(value) else value


def _serialise(lines: list[str]) -> bytes:
    return b"".join(_fold(line.encode("utf-8")) + b"\r\n" for line in lines)


def _fold(line: bytes) -> bytes:
    """Fold at 75 octets (a continuation's leading space counts), never inside a UTF-8 character."""
    if len(line) <= 75:
        return line
    chunks = []
    start, limit = 0, 75
    while len(line) - start > limit:
        end = start + limit
        while line[end] & 0xC0 == 0x80:
            end -= 1
        chunks.append(line[start:end])
        start, limit = end, 74
    chunks.append(line[start:])
    return b"\r\n ".join(chunks)
