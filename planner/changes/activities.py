"""An activity's changes that guests hear of: an update that moves it tells them and fills freed seats; a
cancellation tells them (after an undo window if asked); copies carry the questions along."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from planner.db import locked, write_transaction
from planner.errors import PlannerError
from planner.fields import loads, row_id, text
from planner.inventory.tables import Item
from planner.outbox.rules import message_row
from planner.outbox.tables import OutboxMessage
from planner.programs.rules import require_role
from planner.rsvps.notices import enqueue_many
from planner.rsvps.seats import ACTIVE, HOLDS_SEAT
from planner.rsvps.tables import Question, Rsvp
from planner.rsvps.waitlist import fill_freed_seats
from planner.scheduling import activities as sched_activities
from planner.scheduling.tables import Activity


async def _check_kit(program_id: int, data: dict) -> None:
    kit_id = data.get("kit_id")
    if kit_id in (None, ""):
        return
    if not await Item.exists().where((Item.id == row_id(kit_id, "kit_id")) & (Item.program == program_id)):
        raise PlannerError("That kit was not found in this programme.", "not_found", extra={"field": "kit_id"})


async def create_activity(program_id: int, data: dict, *, user: dict | None, now: datetime) -> dict:
    await require_role(user, program_id, "organizer")
    await _check_kit(program_id, data)
    return await sched_activities.create_activity(program_id, data, user=user, now=now)


async def update_activity(activity_id: Any, data: dict, *, user: dict | None, now: datetime) -> dict:
    """Change the activity; in the same transaction, tell its guests when the invite changed and give
    freed seats to the waitlist."""
    a = await sched_activities.activity_row(activity_id)
    await require_role(user, a["program"], "organizer")
    if "kit_id" in data:
        await _check_kit(a["program"], data)
    async with write_transaction():
        change = await sched_activities.update_activity(a["id"], data, user=user, now=now)
        if change.invite_changed:
            await notify_activity_changed(change.activity_id, now=now)
        for slot_id in change.grown_slots:
            await fill_freed_seats(slot_id, now=now)
    return await sched_activities.get_activity(a["id"], user=user)


async def duplicate_activity(activity_id: Any, days: list[Any], *, user: dict | None, now: datetime) -> list[dict]:
    """Copies on other days, with the same questions; all or none."""
    a = await sched_activities.activity_row(activity_id)
    async with write_transaction():
        created = await sched_activities.duplicate_activity(a["id"], days, user=user, now=now)
        questions = await Question.select().where(Question.activity == a["id"]).order_by(Question.position)
        for copy in created:
            if questions:
                await Question.insert(*[Question(**{**{k: v for k, v in q.items() if k != "id"}, "activity": copy["id"],
                                                    "choices": loads(q["choices"]) or []}) for q in questions])
    return created


async def cancel_activity(activity_id: Any, data: dict, *, user: dict | None, now: datetime, hold_seconds: int = 0) -> dict:
    """Cancel and tell every guest. With `hold_seconds` the e-mails wait that long in the outbox, so the
    organizer can still undo (see undo_cancel)."""
    a = await sched_activities.activity_row(activity_id)
    await require_role(user, a["program"], "organizer")
    if a["cancelled_at"] is not None:
        return await sched_activities.get_activity(a["id"], user=user)
    reason = text(data or {}, "reason", "Reason", required=False, max_len=1000)
    async with write_transaction():
        await Activity.update({
            Activity.cancelled_at: now, Activity.cancel_reason: reason,
            Activity.sequence: a["sequence"] + 1, Activity.updated_at: now,
        }).where(Activity.id == a["id"])
        await notify_activity_cancelled(a["id"], reason=reason, now=now,
                                                   send_at=now + timedelta(seconds=hold_seconds) if hold_seconds else None)
    return await sched_activities.get_activity(a["id"], user=user)


async def undo_cancel(activity_id: Any, *, user: dict | None, now: datetime, window_seconds: int) -> None:
    """Take back a cancellation while its e-mails still wait: the activity is on again and the held
    messages are dropped. Refused once the window passed or any message was picked up for sending."""
    a = await sched_activities.activity_row(activity_id)
    await require_role(user, a["program"], "organizer")
    async with write_transaction():
        a = await locked(Activity.select().where(Activity.id == a["id"])).first()
        if a["cancelled_at"] is None:
            return
        if now > a["cancelled_at"] + timedelta(seconds=window_seconds):
            raise PlannerError("Too late to undo: the cancellation e-mails have gone out.", "conflict")
        ids = [r["id"] for r in await Rsvp.select(Rsvp.id).where(Rsvp.activity == a["id"])]
        held = OutboxMessage.kind == "activity_cancelled"
        if ids:
            held &= OutboxMessage.rsvp.is_in(ids)
            held &= OutboxMessage.created_at == a["cancelled_at"]
            gone = await OutboxMessage.exists().where(held & ((OutboxMessage.attempts > 0) | OutboxMessage.sent_at.is_not_null()))
            if gone:
                raise PlannerError("Too late to undo: the cancellation e-mails have started to go out.", "conflict")
            await OutboxMessage.delete().where(held & (OutboxMessage.attempts == 0) & OutboxMessage.sent_at.is_null())
        await Activity.update({Activity.cancelled_at: None, Activity.cancel_reason: "", Activity.updated_at: now}).where(Activity.id == a["id"])


async def cancel_impact(activity_id: Any, *, user: dict | None) -> dict:
    """Who a cancellation would e-mail, counted by status."""
    a = await sched_activities.activity_row(activity_id)
    await require_role(user, a["program"], "organizer")
    rows = await Rsvp.select(Rsvp.status).where((Rsvp.activity == a["id"]) & Rsvp.status.is_in(["invited", "applied", "offered", "confirmed", "waitlisted"]))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"guests": len(rows), "by_status": counts}


async def delete_activity(activity_id: Any, *, user: dict | None) -> None:
    a = await sched_activities.activity_row(activity_id)
    await require_role(user, a["program"], "organizer")
    if await Rsvp.exists().where(Rsvp.activity == a["id"]):
        raise PlannerError("This activity has RSVPs; cancel it instead, so guests are told.", "conflict")
    await Activity.delete().where(Activity.id == a["id"])


# ---------------------------------------------------------------- what guests hear

async def notify_activity_changed(activity_id: int, *, now: datetime) -> None:
    rows = await Rsvp.select(Rsvp.id, Rsvp.email).where((Rsvp.activity == activity_id) & Rsvp.status.is_in(list(HOLDS_SEAT)))
    if rows:
        await enqueue_many([message_row(kind="activity_changed", to=r["email"], rsvp_id=r["id"], now=now) for r in rows])


async def notify_activity_cancelled(activity_id: int, *, reason: str, now: datetime, send_at: datetime | None = None) -> None:
    rows = await Rsvp.select(Rsvp.id, Rsvp.email, Rsvp.status).where((Rsvp.activity == activity_id) & Rsvp.status.is_in(list(ACTIVE)))
    if rows:
        await enqueue_many([
            message_row(kind="activity_cancelled", to=r["email"], rsvp_id=r["id"], context={"reason": reason, "was": r["status"]},
                        now=now, send_at=send_at)
            for r in rows
        ])
