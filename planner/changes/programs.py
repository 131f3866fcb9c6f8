"""A new programme comes with its warehouse and its country's support resources."""
from __future__ import annotations

from datetime import datetime

from planner.audit.rules import record
from planner.db import locked, write_transaction
from planner.errors import PlannerError
from planner.i18n import _nl
from planner.inventory.tables import Item, Location
from planner.programs import rules as programs
from planner.programs.tables import Program
from planner.resources.seed import resources_for
from planner.resources.tables import SupportResource
from planner.rsvps.seats import ACTIVE
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Activity, Slot, Space


async def create_program(data: dict, *, user: dict | None) -> dict:
    """The programme, its first organizer, its warehouse and its support resources: all or nothing."""
    async with write_transaction():
        program = await programs.create_program(data, user=user)
        await _seed_program(program["id"], program["country"], program["languages"])
    return program


async def _seed_program(program_id: int, country: str, languages: list[str]) -> None:
    """The warehouse location and the country's support resources come with every programme."""
    await Location.insert(Location(program=program_id, name="Warehouse"))
    rows = [
        SupportResource(
            program=program_id, country=r.get("country") or country, name=r["name"], kind=r["kind"],
            phone=r.get("phone"), sms=r.get("sms"), url=r.get("url"), hours=r.get("hours"),
            languages=r.get("languages") or [], description=r.get("description") or "", position=i,
            source=r.get("source") or "curated",
        )
        for i, r in enumerate(resources_for(country, languages))
    ]
    if rows:
        await SupportResource.insert(*rows)


# ---------------------------------------------------------------- deleting a programme

async def _still_to_come(program_id: int, now: datetime) -> int:
    """Activities not yet over and not cancelled that still have guests: they must be cancelled first, so
    the guests are told."""
    rows = await Rsvp.select(Rsvp.activity).where(
        (Rsvp.program == program_id) & Rsvp.status.is_in(list(ACTIVE)) & Rsvp.activity.cancelled_at.is_null()
        & (Rsvp.slot.ends_at > now)
    )
    return len({r["activity"] for r in rows})


async def deletion_impact(program_id: int, *, user: dict | None, now: datetime) -> dict:
    """What deleting the programme takes with it, counted, and what stands in the way."""
    await programs.require_role(user, program_id, "organizer")
    return {
        "activities": await Activity.count().where(Activity.program == program_id),
        "spaces": await Space.count().where(Space.program == program_id),
        "slots": await Slot.count().where(Slot.program == program_id),
        "guests": await Rsvp.count().where(Rsvp.program == program_id),
        "stock_items": await Item.count().where(Item.program == program_id),
        "still_to_come": await _still_to_come(program_id, now),
    }


async def delete_program(program_id: int, *, user: dict | None, confirm_name: str, now: datetime) -> dict:
    """Delete the programme and everything in it (spaces, activities, RSVPs, check-ins, stock, resources,
    queued mail), once its organizer types its name. Refused while an activity still to come has guests.
    The audit log keeps one line saying who deleted it."""
    await programs.require_role(user, program_id, "organizer")
    p = await programs.program_row(program_id)
    if (confirm_name or "").strip() != p["name"]:
        raise PlannerError("Type the programme's name exactly to confirm.", extra={"field": "confirm_name"})
    async with write_transaction():
        await locked(Program.select(Program.id).where(Program.id == program_id)).first()
        impact = await deletion_impact(program_id, user=user, now=now)
        if impact["still_to_come"]:
            n = impact["still_to_come"]
            raise PlannerError(_nl("{n} activity still to come has guests; cancel it first, so they are told.",
                                   "{n} activities still to come have guests; cancel them first, so they are told.", n), "conflict")
        await record("program_deleted", now=now, program_id=program_id, actor=user, subject=p["name"],
                     detail=f"{impact['activities']} activities, {impact['guests']} RSVPs")
        # Every table of the programme refers to it with ON DELETE CASCADE; the audit log does not.
        await Program.delete().where(Program.id == program_id)
    return impact
