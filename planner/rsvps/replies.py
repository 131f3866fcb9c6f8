"""A guest's own answers after the first one: declining an invitation, changing their mind, booking again.

Same locking as the rest of the RSVP rules: the slot row is locked inside `write_transaction()`, and the
slot's counters move with the status, so a rebooked guest can never overfill a slot.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from planner.accounts.rules import normalise_email
from planner.db import locked, write_transaction
from planner.errors import PlannerError, not_found
from planner.rsvps import seats
from planner.rsvps.answers import _name
from planner.rsvps.booking import _open_activity, guest_rsvp
from planner.rsvps.notices import enqueue
from planner.rsvps.seats import ACTIVE, transition
from planner.rsvps.shapes import rsvp_out, waitlist_position
from planner.rsvps.tables import Invitation, Rsvp
from planner.scheduling.tables import Slot
from planner.tokens import new_code


async def invitation_by_code(activity_id: int, code: str | None) -> dict | None:
    if not code:
        return None
    return await Invitation.select().where((Invitation.code == str(code)) & (Invitation.activity == activity_id)).first()


async def rsvp_of_invitation(invitation_id: int) -> dict | None:
    """The RSVP an invitation was answered with (accepted or declined), if any."""
    return await Rsvp.select().where(Rsvp.invitation == invitation_id).order_by(Rsvp.id, ascending=False).first()


async def decline_invitation(activity_id: Any, code: str | None, *, now: datetime, language: str = "en") -> dict:
    """The invitee says no: kept as a declined RSVP (no seat, no ticket) so the organizer sees the answer
    and the guest can change their mind from their own link."""
    a = await _open_activity(activity_id, now)
    inv = await invitation_by_code(a["id"], code)
    if inv is None:
        raise PlannerError("That invitation code is not known for this activity.", "not_found", extra={"field": "invite_code"})
    async with write_transaction():
        await locked(Slot.select(Slot.id).where(Slot.id == a["slot_ids"][0]))
        existing = await rsvp_of_invitation(inv["id"])
        if existing is not None:
            return rsvp_out(existing, position=await waitlist_position(existing))
        await Invitation.update({Invitation.used: True}).where(Invitation.id == inv["id"])
        row = Rsvp(
            program=a["program"], activity=a["id"], slot=a["slot_ids"][0], name=_name({"name": inv["name"]}),
            email=normalise_email(inv["email"]), guests=0, status="declined", answers={}, ticket_code=new_code(),
            invitation=inv["id"], language=language[:10], cancelled_by="guest", created_at=now, updated_at=now,
        )
        rid = (await Rsvp.insert(row).returning(Rsvp.id))[0]["id"]
    return rsvp_out({**row.to_dict(), "id": rid, "program": a["program"], "activity": a["id"], "slot": a["slot_ids"][0]})


def can_rebook(r: dict) -> bool:
    """Only a guest who left (or said no to an invitation) themselves may come back; an organizer's
    removal or refusal stands."""
    return r["status"] in ("cancelled", "declined") and r.get("cancelled_by") == "guest"


async def rebook(rsvp_id: Any, token: str | None, *, now: datetime) -> dict:
    """A guest who cancelled, or declined an invitation, takes a place again: confirmed while seats last,
    else the waitlist (or an application again for activities by application)."""
    r0 = await guest_rsvp(rsvp_id, token)
    if not can_rebook(r0):
        if r0["status"] in ACTIVE:
            return rsvp_out(r0, position=await waitlist_position(r0))
        raise PlannerError("The organizers closed this place; contact them if you think this is a mistake.", "conflict")
    a = await _open_activity(r0["activity"], now)
    party = 1 + r0["guests"]
    async with write_transaction():
        slot = await locked(Slot.select(Slot.capacity, Slot.confirmed, Slot.waiting, Slot.queue_seq).where(Slot.id == r0["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] in ACTIVE:
            return rsvp_out(r, position=await waitlist_position(r))
        other = await Rsvp.exists().where(
            (Rsvp.activity == r["activity"]) & (Rsvp.email == r["email"]) & Rsvp.status.is_in(list(ACTIVE)) & (Rsvp.id != r["id"])
        )
        if other:
            raise PlannerError("You already have a place in this activity; open the link from your latest email.", "conflict")
        status, queue_seq, position = seats.place(slot, party, by_application=a["rsvp_mode"] == "apply")
        await seats.apply(r["slot"], transition(r["status"], status, party=party), queue_seq=queue_seq)
        await Rsvp.update({Rsvp.status: status, Rsvp.queue_seq: queue_seq, Rsvp.cancelled_by: "", Rsvp.note: "",
                           Rsvp.updated_at: now}).where(Rsvp.id == r["id"])
        await enqueue(kind=status, to=r["email"], rsvp_id=r["id"], context={"position": position}, now=now)
    return rsvp_out({**r, "status": status}, position=position)


async def guest_view(rsvp_id: Any, token: str | None) -> dict:
    """What the guest page needs beyond the RSVP itself: who closed it, and whether it came by invitation."""
    r = await guest_rsvp(rsvp_id, token)
    if r is None:
        raise not_found("That RSVP")
    return {"cancelled_by": r.get("cancelled_by") or "", "by_invitation": r["invitation"] is not None,
            "can_rebook": can_rebook(r), "organizer_note": r["note"] if r.get("cancelled_by") == "organizer" else ""}
