"""Check-in by name: the scanner's fallback when a code will not read or a guest lost their ticket.

Staff and organizers of the activity's programme find a confirmed guest by part of their
name (case-insensitive, any script) and admit them with a normal scan of the ticket code
shown in the result. Every lookup is recorded in the audit log, as other reads of guests'
details are; the query itself is not kept there.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from planner.audit.rules import record
from planner.clock import local, stored_utc
from planner.db import raw
from planner.errors import PlannerError, not_found
from planner.i18n import _l
from planner.programs.rules import require_role

MIN_QUERY = 2
MAX_QUERY = 100
MAX_RESULTS = 20
ROLES = ("organizer", "staff")

GUESTS = """
SELECT r.id, r.name, r.ticket_code, r.status, r.slot, s.starts_at
FROM rsvp r JOIN slot s ON s.id = r.slot
WHERE r.activity = {} AND r.status = 'confirmed'
ORDER BY r.id
"""


def _query(q: Any) -> str:
    text = " ".join(q.split()) if isinstance(q, str) else ""
    if len(text) < MIN_QUERY:
        raise PlannerError(_l("Type at least {n} letters of the guest's name.", n=MIN_QUERY), extra={"field": "q"})
    if len(text) > MAX_QUERY:
        raise PlannerError(_l("A name search can be at most {n} characters.", n=MAX_QUERY), extra={"field": "q"})
    return text


def _activity_id(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PlannerError("Say which activity_id.", extra={"field": "activity_id"})


async def search_guests(user: dict | None, *, activity_id: Any, q: Any, now: datetime) -> dict:
    """Up to MAX_RESULTS confirmed guests of the activity whose name contains `q`, by name."""
    if user is None:
        raise PlannerError("Log in as staff to scan tickets.", "unauthorized")
    aid = _activity_id(activity_id)
    rows = await raw("SELECT a.program, a.kind, p.timezone FROM activity a JOIN program p ON p.id = a.program WHERE a.id = {}", aid)
    if not rows:
        raise not_found("That activity")
    a = rows[0]
    await require_role(user, a["program"], *ROLES)
    text = _query(q).casefold()
    # Case-insensitive in every script the same way on both engines: the match is made here, not by SQL's lower().
    found = [r for r in await raw(GUESTS, aid) if text in " ".join(r["name"].split()).casefold()]
    found.sort(key=lambda r: (r["name"].casefold(), r["id"]))
    found = found[:MAX_RESULTS]
    came = await _checked_in([r for r in found], residency=a["kind"] == "residency", tz=a["timezone"], now=now)
    await record("guest_searched", now=now, program_id=a["program"], actor=user, subject=f"activity {aid}",
                 detail=f"name search at the door, {len(found)} shown")
    return {"results": [{
        "rsvp_id": r["id"], "name": r["name"], "code": r["ticket_code"],
        "slot_starts_at": local(stored_utc(r["starts_at"]), a["timezone"]).isoformat(), "status": r["status"],
        "checked_in": r["id"] in came,
    } for r in found]}


async def _checked_in(rows: list[dict], *, residency: bool, tz: str, now: datetime) -> set[int]:
    """The guests among `rows` already admitted: to their slot, or for a residency, on today's day."""
    if not rows:
        return set()
    ids = [r["id"] for r in rows]
    marks = ", ".join("{}" for _ in ids)
    admitted = await raw(f"SELECT c.rsvp, s.starts_at FROM checkin c JOIN slot s ON s.id = c.slot WHERE c.rsvp IN ({marks})", *ids)
    if not residency:
        return {c["rsvp"] for c in admitted}
    today = local(now, tz).date()
    return {c["rsvp"] for c in admitted if local(stored_utc(c["starts_at"]), tz).date() == today}
