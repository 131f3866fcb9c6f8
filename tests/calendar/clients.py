"""Independent readers of iCalendar: ical.js (under Node), vobject, icalendar with recurring_ical_events.

Each returns, for one calendar, its METHOD and every occurrence as (uid, start, end) in UTC,
with recurring events expanded and RECURRENCE-ID overrides applied.
"""
from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import recurring_ical_events
import vobject

READER = Path(__file__).with_name("icaljs_read.cjs")
Occurrence = tuple[str, datetime, datetime]


def _utc(value: datetime) -> datetime:
    assert isinstance(value, datetime) and value.tzinfo is not None, f"not an instant: {value!r}"
    return value.astimezone(UTC)


def icaljs(folder: Path, texts: list[bytes]) -> list[dict]:
    """Every calendar through ical.js in one Node run: [{"method", "events": [(uid, start, end), ...]}]."""
    env = {**os.environ, "NODE_PATH": str(folder / "node_modules")}
    done = subprocess.run(["node", str(READER)], input=json.dumps([t.decode("utf-8") for t in texts]),
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    out = []
    for result in json.loads(done.stdout):
        events = sorted(
            (e["uid"], datetime.fromisoformat(e["start"].replace("Z", "+00:00")),
             datetime.fromisoformat(e["end"].replace("Z", "+00:00")))
            for e in result["events"]
        )
        out.append({"method": result["method"], "events": events})
    return out


def with_vobject(text: bytes) -> dict:
    """vobject with validation, as CalDAV servers (Radicale) read: RDATEs expanded, overrides applied."""
    [calendar] = list(vobject.readComponents(text.decode("utf-8"), validate=True))
    method = calendar.method.value if hasattr(calendar, "method") else None
    overrides: dict[tuple[str, datetime], tuple[datetime, datetime]] = {}
    masters = []
    for vevent in calendar.vevent_list:
        uid = vevent.uid.value
        if hasattr(vevent, "recurrence_id"):
            overrides[(uid, _utc(vevent.recurrence_id.value))] = (_utc(vevent.dtstart.value), _utc(vevent.dtend.value))
        else:
            masters.append(vevent)
    events: list[Occurrence] = []
    for vevent in masters:
        uid = vevent.uid.value
        start, end = _utc(vevent.dtstart.value), _utc(vevent.dtend.value)
        starts = [start]
        if hasattr(vevent, "rdate") or hasattr(vevent, "rrule"):
            starts = [_utc(s) for s in vevent.getrruleset(addRDate=True)]
        for s in starts:
            events.append((uid, *overrides.get((uid, s), (s, s + (end - start)))))
    return {"method": method, "events": sorted(events)}


def with_icalendar(text: bytes, around: tuple[datetime, datetime]) -> dict:
    """icalendar and recurring_ical_events, between two instants."""
    calendar = icalendar.Calendar.from_ical(text)
    occurrences = recurring_ical_events.of(calendar).between(*around)
    events = sorted((str(o["UID"]), _utc(o["DTSTART"].dt), _utc(o["DTEND"].dt)) for o in occurrences)
    return {"method": str(calendar.get("METHOD")) if calendar.get("METHOD") else None, "events": events}


def window(expected: list[Occurrence]) -> tuple[datetime, datetime]:
    return (min(e[1] for e in expected) - timedelta(days=2), max(e[2] for e in expected) + timedelta(days=2))
