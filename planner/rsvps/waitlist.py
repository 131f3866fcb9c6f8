"""The waitlist: freed seats go to the first parties that fit, offers expire, organizers reorder the line."""
from __future__ import annotations

from datetime import datetime, timedelta

from planner.db import locked, write_transaction
from planner.outbox.rules import message_row
from planner.rsvps import seats
from planner.rsvps.notices import enqueue, enqueue_many
from planner.rsvps.seats import Change, Status, transition
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot


async def fill_freed_seats(slot_id: int, *, now: datetime) -> list[int]:
    """Give free seats to the first waitlisted parties that fit. Call inside write_transaction with the slot locked."""
    slot = await Slot.select(Slot.capacity, Slot.confirmed, Slot.activity.promotion, Slot.activity.hold_hours, Slot.activity.kind).where(Slot.id == slot_id).first()
    free = slot["capacity"] - slot["confirmed"]
    if free <= 0:
        return []
    offer = slot["activity.promotion"] == "offer" and slot["activity.kind"] in ("dinner", "residency")
    waiting = await Rsvp.select(Rsvp.id, Rsvp.guests, Rsvp.email).where(
        (Rsvp.slot == slot_id) & (Rsvp.status == "waitlisted")
    ).order_by(Rsvp.queue_seq).limit(500)
    promoted, taken = [], 0
    for w in waiting:
        party = 1 + w["guests"]
        if party > free - taken:
            continue
        taken += party
        promoted.append(w)
        if free - taken <= 0:
            break
    if not promoted:
        return []
    ids = [w["id"] for w in promoted]
    seated = Status.OFFERED if offer else Status.CONFIRMED
    values: dict = {Rsvp.status: seated, Rsvp.queue_seq: None, Rsvp.updated_at: now, Rsvp.promoted_at: now}
    if offer:
        values[Rsvp.offer_expires_at] = now + timedelta(hours=slot["activity.hold_hours"])
    await Rsvp.update(values).where(Rsvp.id.is_in(ids))
    change = Change()
    for w in promoted:
        change = change + transition(Status.WAITLISTED, seated, party=1 + w["guests"])
    await seats.apply(slot_id, change)
    await enqueue_many([
        message_row(kind="offered" if offer else "promoted", to=w["email"], rsvp_id=w["id"], now=now) for w in promoted
    ])
    return ids


async def expire_offers(*, now: datetime) -> int:
    """Offers past their hold pass to the next in line. Run by the background worker."""
    due = await Rsvp.select(Rsvp.id, Rsvp.slot).where((Rsvp.status == "offered") & (Rsvp.offer_expires_at < now)).limit(200)
    for d in due:
        async with write_transaction():
            await locked(Slot.select(Slot.id).where(Slot.id == d["slot"]))
            r = await Rsvp.select().where(Rsvp.id == d["id"]).first()
            if r["status"] != "offered" or not r["offer_expires_at"] or r["offer_expires_at"] >= now:
                continue
            await seats.apply(r["slot"], transition(r["status"], None, party=1 + r["guests"]))
            await Rsvp.update({Rsvp.status: "declined", Rsvp.offer_expires_at: None, Rsvp.note: "Offer expired", Rsvp.updated_at: now}).where(Rsvp.id == r["id"])
            await enqueue(kind="offer_expired", to=r["email"], rsvp_id=r["id"], now=now)
            await fill_freed_seats(r["slot"], now=now)
    return len(due)
