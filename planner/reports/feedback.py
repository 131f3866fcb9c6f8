"""Optional anonymous feedback after a session: two one-tap questions, kept only as tallies.

An answer increments a tally (programme, activity, session day, question, answer) and writes a
used-marker: HMAC(secret, question + RSVP id). The marker stops a second answer to the same
question from the same RSVP; it is stored apart from the tally, holds nothing else, and cannot
be turned back into the RSVP id without the secret, nor tied to an answer with it.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from planner.db import is_postgres, raw, write_transaction
from planner.errors import PlannerError
from planner.outbox.rules import message_row
from planner.outbox.tables import OutboxMessage
from planner.programs.rules import require_role
from planner.reports.tables import QUESTIONS
from planner.rsvps.booking import guest_rsvp
from planner.settings import get_settings
from planner.tickets.walkin import WALKIN_DOMAIN

ERASED_DOMAIN = "erased.invalid"


def marker_key(rsvp_id: int, question: str) -> str:
    secret = hashlib.sha256(("feedback:" + get_settings().secret_key).encode()).digest()
    return hmac.new(secret, f"{question}:{int(rsvp_id)}".encode(), hashlib.sha256).hexdigest()


async def is_enabled(program_id: int) -> bool:
    rows = await raw("SELECT enabled FROM feedback_setting WHERE program = {}", program_id)
    return bool(rows and rows[0]["enabled"])


async def set_enabled(program_id: Any, enabled: bool, *, user: dict | None) -> bool:
    try:
        pid = int(program_id)
    except (TypeError, ValueError):
        raise PlannerError("That programme was not found.", "not_found") from None
    await require_role(user, pid, "organizer")
    async with write_transaction():
        await raw("INSERT INTO feedback_setting (program, enabled) VALUES ({}, {}) "
                  "ON CONFLICT (program) DO UPDATE SET enabled = excluded.enabled", pid, bool(enabled))
    return bool(enabled)


async def _session(rsvp: dict) -> dict | None:
    """The RSVP's first admission, with its session's day in programme time; None if never admitted."""
    rows = await raw(
        "SELECT c.slot, s.starts_at, p.timezone FROM checkin c JOIN slot s ON s.id = c.slot JOIN program p ON p.id = c.program "
        "WHERE c.rsvp = {} ORDER BY s.starts_at LIMIT 1", rsvp["id"])
    return rows[0] if rows else None


async def offer(rsvp: dict) -> dict | None:
    """What the guest's page shows: the questions still open to this RSVP, or None when there is nothing to ask."""
    if not await is_enabled(rsvp["program"]):
        return None
    if await _session(rsvp) is None:
        return None
    keys = {q: marker_key(rsvp["id"], q) for q in QUESTIONS}
    found = await raw("SELECT key FROM feedback_marker WHERE key IN ({}, {})", keys["mood"], keys["again"])
    done = {r["key"] for r in found}
    return {"open": [q for q in QUESTIONS if keys[q] not in done]}


async def answer(rsvp_id: Any, token: str | None, question: Any, value: Any) -> bool:
    """Record one answer. True if counted, False if this RSVP had already answered that question."""
    r = await guest_rsvp(rsvp_id, token)
    if question not in QUESTIONS:
        raise PlannerError("Choose one of the questions on the page.", extra={"field": "question"})
    value = str(value or "")
    if value not in QUESTIONS[question]:
        raise PlannerError("Choose one of the answers on the page.", extra={"field": "value"})
    if not await is_enabled(r["program"]):
        raise PlannerError("The organizers have not asked for feedback on this programme.", "not_found")
    session = await _session(r)
    if session is None:
        raise PlannerError("Feedback opens once you have been checked in to the session.", "conflict")
    starts = session["starts_at"]
    if isinstance(starts, str):
        starts = datetime.fromisoformat(starts)
    day = starts.astimezone(ZoneInfo(session["timezone"])).date()
    key = marker_key(r["id"], question)
    async with write_transaction():
        claimed = await raw("INSERT INTO feedback_marker (key) VALUES ({}) ON CONFLICT (key) DO NOTHING RETURNING key", key)
        if not claimed:
            return False
        d = day if is_postgres() else day.isoformat()
        # Every answer's row of the session is made at once, in a fixed order, so that row ids and
        # storage order say nothing about which answer came first.
        answers = [(q, a) for q, values in QUESTIONS.items() for a in values]
        await raw(
            "INSERT INTO feedback_tally (program, activity, day, question, answer, count) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, 0)" for _ in answers)
            + " ON CONFLICT (activity, day, question, answer) DO NOTHING",
            *[x for q, a in answers for x in (r["program"], r["activity"], d, q, a)],
        )
        await raw("UPDATE feedback_tally SET count = count + 1 WHERE activity = {} AND day = {} AND question = {} AND answer = {}",
                  r["activity"], d, question, value)
    return True


async def send_follow_ups(program_id: Any, *, user: dict | None, now: datetime) -> int:
    """Queue one follow-up e-mail ("how do you feel now?") to each admitted guest of a finished session who
    has not had one. Returns how many were queued."""
    try:
        pid = int(program_id)
    except (TypeError, ValueError):
        raise PlannerError("That programme was not found.", "not_found") from None
    await require_role(user, pid, "organizer")
    if not await is_enabled(pid):
        raise PlannerError("Turn feedback on for this programme first.", "conflict")
    rows = await raw(
        "SELECT DISTINCT r.id, r.email FROM rsvp r JOIN checkin c ON c.rsvp = r.id JOIN slot s ON s.id = c.slot "
        "WHERE r.program = {} AND s.ends_at <= {} "
        f"AND r.email NOT LIKE '%@{WALKIN_DOMAIN}' AND r.email NOT LIKE '%@{ERASED_DOMAIN}' "
        "AND NOT EXISTS (SELECT 1 FROM outbox_message o WHERE o.rsvp = r.id AND o.kind = 'feedback')",
        pid, now)
    if rows:
        async with write_transaction():
            await OutboxMessage.insert(*[message_row(kind="feedback", to=r["email"], rsvp_id=r["id"], now=now) for r in rows])
    return len(rows)
