"""Walk-ins at open activations: a confirmed RSVP and its check-in, made together at the door.

Same guarantee as an RSVP: the slot row is locked, its `confirmed` counter checked and moved,
and the RSVP and check-in inserted in one write transaction, so walk-ins never oversell a
slot however many doors admit at once. A walk-in has no email address: the RSVP holds a
placeholder in the reserved `.invalid` domain and no mail is queued for it.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from planner.db import locked, write_transaction
from planner.errors import PlannerError, not_found
from planner.i18n import _l, _nl
from planner.inventory.handout import hand_out
from planner.programs.rules import require_role
from planner.rsvps import seats
from planner.rsvps.answers import _guests as parse_guests
from planner.rsvps.seats import Status, transition
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Activity, Slot
from planner.terms import Term
from planner.tickets.decide import kit_out
from planner.tickets.tables import Checkin
from planner.tokens import new_code

WALKIN_DOMAIN = "walkin.invalid"
# Without a slot id, a slot counts as "now" from this long before it starts.
EARLY_DOORS = timedelta(minutes=15)


def placeholder_email() -> str:
    return f"walkin+{secrets.token_hex(6)}@{WALKIN_DOMAIN}"


def is_walkin_email(email: str) -> bool:
    return email.endswith("@" + WALKIN_DOMAIN)


def _name(data: dict) -> str:
    name = data.get("name")
    if name in (None, ""):
        return "Walk-in"
    if not isinstance(name, str):
        raise PlannerError("name must be text.", extra={"field": "name"})
    name = " ".join(name.split()) or "Walk-in"
    if len(name) > 200:
        raise PlannerError("The name can be at most 200 characters.", extra={"field": "name"})
    return name


def _scan_id(data: dict) -> str | None:
    scan_id = data.get("scan_id")
    if scan_id in (None, ""):
        return None
    if not isinstance(scan_id, str) or len(scan_id) > 100:
        raise PlannerError("scan_id must be a text of 1 to 100 characters.", extra={"field": "scan_id"})
    return scan_id


async def _activity(activity_id: Any, user: dict | None) -> dict:
    try:
        aid = int(activity_id)
    except (TypeError, ValueError):
        raise not_found("That activity") from None
    a = await Activity.select(
        Activity.id, Activity.program, Activity.kind, Activity.title, Activity.rsvp_mode, Activity.max_guests,
        Activity.published, Activity.cancelled_at, Activity.kit, Activity.space, Activity.kit.name,
        Activity.kit.low_stock_at,
    ).where(Activity.id == aid).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer", "staff")
    if a["kind"] != "activation" or a["rsvp_mode"] != "open":
        raise PlannerError(_l("Walk-ins are only for activations with open RSVPs; “{title}” is a {kind} {mode}.",
                              title=a["title"], kind=Term(a["kind"]), mode=Term(a["rsvp_mode"])),
                           "closed", extra={"result": "not_open"})
    if a["cancelled_at"] is not None:
        raise PlannerError("This activity was cancelled.", "closed", extra={"result": "not_open"})
    if not a["published"]:
        raise PlannerError("This activity is a draft; publish it before admitting walk-ins.", "closed", extra={"result": "not_open"})
    return a


async def _slot(a: dict, slot_id: Any, now: datetime) -> dict:
    slots = await Slot.select(Slot.id, Slot.starts_at, Slot.ends_at).where(Slot.activity == a["id"]).order_by(Slot.starts_at)
    if slot_id not in (None, ""):
        try:
            sid = int(slot_id)
        except (TypeError, ValueError):
            raise PlannerError("slot_id must be a slot of this activity.", extra={"field": "slot_id"}) from None
        chosen = next((s for s in slots if s["id"] == sid), None)
        if chosen is None:
            raise PlannerError("That slot is not part of this activity.", "not_found", extra={"field": "slot_id"})
    elif len(slots) == 1:
        chosen = slots[0]
    else:
        chosen = next((s for s in slots if s["starts_at"] - EARLY_DOORS <= now < s["ends_at"]), None)
        if chosen is None:
            raise PlannerError("No slot of this activity is on now: pick a time slot.", extra={"field": "slot_id"})
    if now >= chosen["ends_at"]:
        raise PlannerError("This session is over.", "closed", extra={"result": "not_open"})
    return chosen


async def admit_walkin(activity_id: Any, data: dict, *, user: dict | None, device: str, now: datetime) -> dict:
    """Seat and check in a walk-in party while the slot has room; 409 "full" when it has none."""
    if not isinstance(data, dict):
        raise PlannerError("The body must be an object.")
    a = await _activity(activity_id, user)
    name = _name(data)
    guests = parse_guests(data, a["max_guests"])
    scan_id = _scan_id(data)
    slot = await _slot(a, data.get("slot_id"), now)
    party = 1 + guests
    activity = {"id": a["id"], "title": a["title"]}
    async with write_transaction():
        s = await locked(Slot.select(Slot.capacity, Slot.confirmed).where(Slot.id == slot["id"])).first()
        if scan_id is not None:
            done = await Checkin.select(Checkin.rsvp, Checkin.party, Checkin.checked_in_at, Checkin.rsvp.name).where(
                Checkin.scan_id == scan_id).first()
            if done:
                # The same walk-in sent again (a retry): same outcome, nothing new.
                return {"result": "admitted", "guest": {"name": done["rsvp.name"]}, "party": done["party"], "rsvp_id": done["rsvp"],
                        "checked_in_at": done["checked_in_at"].isoformat(), "activity": activity, "slot_id": slot["id"],
                        "replay": True, "left": max(0, s["capacity"] - s["confirmed"])}
        left = s["capacity"] - s["confirmed"]
        if not seats.fits(s, party):
            if left <= 0:
                message = "Full: no seat is left in this slot."
            else:
                message = _nl("Only {n} seat left; this party is {party}.", "Only {n} seats left; this party is {party}.", left, party=party)
            raise PlannerError(message, "conflict", extra={"result": "full", "left": max(0, left), "capacity": s["capacity"]})
        await seats.apply(slot["id"], transition(None, Status.CONFIRMED, party=party))
        rsvp = await Rsvp.insert(Rsvp(
            program=a["program"], activity=a["id"], slot=slot["id"], name=name, email=placeholder_email(), guests=guests,
            status=Status.CONFIRMED, answers={}, ticket_code=new_code(), note="Walk-in", created_at=now, updated_at=now,
        )).returning(Rsvp.id)
        rsvp_id = rsvp[0]["id"]
        checkin = await Checkin.insert(Checkin(
            program=a["program"], rsvp=rsvp_id, slot=slot["id"], checked_in_at=now, device=(device or "")[:100],
            scan_id=scan_id, user=user["id"], online=True, party=party, kit="none" if a["kit"] is None else "handed_out",
            created_at=now,
        )).returning(Checkin.id)
        kit = None
        if a["kit"] is not None:
            done = await hand_out(item_id=a["kit"], quantity=party, program_id=a["program"], low_stock_at=a["kit.low_stock_at"] or 0,
                                  ref=f"checkin:{checkin[0]['id']}", user_id=user["id"], now=now, space_id=a["space"])
            if not done.handed_out:
                await Checkin.update({Checkin.kit: "none_left"}).where(Checkin.id == checkin[0]["id"])
            kit = kit_out(a["kit.name"], party, done.handed_out)
    out = {"result": "admitted", "guest": {"name": name}, "party": party, "rsvp_id": rsvp_id, "checked_in_at": now.isoformat(),
           "activity": activity, "slot_id": slot["id"], "left": left - party, "program_id": a["program"]}
    if kit is not None:
        out["kit"] = kit
    return out
