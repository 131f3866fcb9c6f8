"""Messages to many guests at once: reminders before each activity, and an organizer's message to the
confirmed (or waitlisted) guests of an activity or a whole programme. Both go through the outbox.

Reminders go out once: a row in `reminder_sent` with a unique (rsvp, slot, hours) key is written in
the same transaction as the outbox row (the slot is the day: a residency's guest is reminded before
each of its days), so several workers, a restart or a repeated run never send
one twice. The clock is passed in.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from planner.db import raw, write_transaction
from planner.errors import PlannerError, not_found
from planner.i18n import _, _l
from planner.outbox.rules import message_row
from planner.outbox.tables import OutboxMessage
from planner.programs.rules import parse_hours, require_role
from planner.programs.tables import Program
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Activity, Slot

AUDIENCES = ("confirmed", "waitlisted")


# ---------------------------------------------------------------- reminders

async def send_due_reminders(*, now: datetime) -> int:
    """Queue every reminder that is due: for a confirmed RSVP of an activity that is not cancelled, the
    offset h is due once now >= start - h (and before the start). When several offsets are due at once
    (the worker was down, or the guest booked late), only the nearest is sent and the others are marked
    as passed. A guest who booked after an offset's moment does not get that reminder.

    A residency is one RSVP for all of its days (one slot a day): each day is reminded of on its own,
    before that day's start, with that day's slot in the message and in the once-only key."""
    programs = await Program.select(Program.id, Program.reminder_hours)
    queued = 0
    for p in programs:
        hours = parse_hours(p["reminder_hours"]) if p["reminder_hours"] else []
        if not hours:
            continue
        horizon = now + timedelta(hours=max(hours))
        # (rsvp, email, booked at, the day's slot, its start) for every start inside the horizon.
        days = [
            (r["id"], r["email"], r["created_at"], r["slot"], r["slot.starts_at"])
            for r in await Rsvp.select(Rsvp.id, Rsvp.email, Rsvp.slot, Rsvp.created_at, Rsvp.slot.starts_at).where(
                (Rsvp.program == p["id"]) & (Rsvp.status == "confirmed") & Rsvp.activity.cancelled_at.is_null()
                & (Rsvp.activity.kind != "residency") & (Rsvp.slot.starts_at > now) & (Rsvp.slot.starts_at <= horizon)
            )
        ]
        residency_days = await Slot.select(Slot.id, Slot.activity, Slot.starts_at).where(
            (Slot.program == p["id"]) & (Slot.activity.kind == "residency") & Slot.activity.cancelled_at.is_null()
            & (Slot.starts_at > now) & (Slot.starts_at <= horizon)
        )
        if residency_days:
            guests = await Rsvp.select(Rsvp.id, Rsvp.email, Rsvp.created_at, Rsvp.activity).where(
                Rsvp.activity.is_in(sorted({d["activity"] for d in residency_days})) & (Rsvp.status == "confirmed")
            )
            days += [(g["id"], g["email"], g["created_at"], d["id"], d["starts_at"])
                     for d in residency_days for g in guests if g["activity"] == d["activity"]]
        for rsvp_id, email, booked, slot_id, start in days:
            due = [h for h in hours if start - timedelta(hours=h) <= now and booked <= start - timedelta(hours=h)]
            if not due:
                continue
            nearest = min(due)
            async with write_transaction():
                fresh = []
                for h in due:
                    got = await raw(
                        "INSERT INTO reminder_sent (rsvp, slot, hours, sent_at) VALUES ({}, {}, {}, {}) "
                        "ON CONFLICT (rsvp, slot, hours) DO NOTHING RETURNING hours",
                        rsvp_id, slot_id, h, now,
                    )
                    fresh += [g["hours"] for g in got]
                # Re-checked under the write lock: a guest who cancelled a moment ago gets nothing.
                still = await Rsvp.exists().where((Rsvp.id == rsvp_id) & (Rsvp.status == "confirmed"))
                if nearest in fresh and still:
                    await OutboxMessage.insert(message_row(kind="reminder", to=email, rsvp_id=rsvp_id,
                                                           context={"hours": nearest, "slot": slot_id}, now=now))
                    queued += 1
    return queued


# ---------------------------------------------------------------- an organizer's message

def _one_line(value: Any, label: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlannerError(_l("{label} is required.", label=_l(label)), extra={"field": label.lower()})
    value = value.strip()
    if "\n" in value or "\r" in value or "\x00" in value:
        raise PlannerError(_l("{label} must be one line.", label=_l(label)), extra={"field": label.lower()})
    if len(value) > max_len:
        raise PlannerError(_l("{label} can be at most {max_len} characters.", label=_l(label), max_len=max_len), extra={"field": label.lower()})
    return value


def _audience(value: Any) -> list[str]:
    chosen = value if isinstance(value, list) else [value] if value else []
    if not chosen or any(x not in AUDIENCES for x in chosen):
        raise PlannerError("Choose who gets the message: confirmed guests, the waitlist, or both.", extra={"field": "audience"})
    return sorted(set(chosen))


async def _scope(*, program_id: int | None, activity_id: int | None, user: dict | None) -> tuple[int, int | None]:
    if activity_id is not None:
        a = await Activity.select(Activity.id, Activity.program).where(Activity.id == activity_id).first()
        if not a:
            raise not_found("That activity")
        await require_role(user, a["program"], "organizer")
        return a["program"], a["id"]
    if program_id is None or not await Program.exists().where(Program.id == program_id):
        raise not_found("That programme")
    await require_role(user, program_id, "organizer")
    return program_id, None


async def recipients(*, program_id: int | None = None, activity_id: int | None = None, audience: Any,
                     user: dict | None) -> list[dict]:
    """The RSVPs a message would go to: one per email address (a guest with three places gets one message)."""
    pid, aid = await _scope(program_id=program_id, activity_id=activity_id, user=user)
    statuses = _audience(audience)
    q = Rsvp.select(Rsvp.id, Rsvp.email, Rsvp.name).where((Rsvp.program == pid) & Rsvp.status.is_in(statuses))
    if aid is not None:
        q = q.where(Rsvp.activity == aid)
    else:
        q = q.where(Rsvp.activity.cancelled_at.is_null())
    seen: set[str] = set()
    out = []
    for r in await q.order_by(Rsvp.id):
        if r["email"] in seen or r["email"].endswith(".invalid"):
            continue
        seen.add(r["email"])
        out.append(r)
    return out


async def broadcast(data: dict, *, program_id: int | None = None, activity_id: int | None = None,
                    user: dict | None, now: datetime) -> int:
    """Queue the organizer's message to each chosen guest; returns how many."""
    subject = _one_line(data.get("subject"), _("Subject"), 200)
    message = data.get("message")
    if not isinstance(message, str) or not message.strip():
        raise PlannerError("Message is required.", extra={"field": "message"})
    if len(message) > 5000 or "\x00" in message:
        raise PlannerError("Message can be at most 5,000 characters.", extra={"field": "message"})
    people = await recipients(program_id=program_id, activity_id=activity_id, audience=data.get("audience"), user=user)
    if not people:
        raise PlannerError("Nobody matches: no guest would get this message.", "conflict", extra={"field": "audience"})
    async with write_transaction():
        await OutboxMessage.insert(*[
            message_row(kind="broadcast", to=r["email"], rsvp_id=r["id"], now=now,
                        context={"subject": subject, "message": message.strip()})
            for r in people
        ])
    return len(people)
