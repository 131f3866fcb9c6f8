"""Where stock is kept: the programme's warehouse and a shelf per space."""
from __future__ import annotations

from typing import Any

from planner.db import write_transaction
from planner.errors import PlannerError, not_found
from planner.i18n import _l
from planner.inventory.items import _id, _text
from planner.inventory.levels import lock as _lock
from planner.inventory.tables import Location
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.scheduling.tables import Space


def location_out(loc: dict) -> dict:
    return {"id": loc["id"], "program_id": loc["program"], "name": loc["name"], "space_id": loc["space"],
            "warehouse": bool(loc.get("warehouse"))}


async def _program(program_id: int) -> dict:
    p = await Program.select(Program.id, Program.name, Program.timezone).where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    return p


async def _locations(program_id: int) -> list[dict]:
    """The programme's locations, warehouse first (the oldest location without a space), then by name."""
    rows = await Location.select().where(Location.program == program_id).order_by(Location.id)
    wh = next((r for r in rows if r["space"] is None), None)
    for r in rows:
        r["warehouse"] = r is wh
    return sorted(rows, key=lambda r: (not r["warehouse"], r["space"] is not None, r["name"].lower(), r["id"]))


async def warehouse_id(program_id: int) -> int:
    """The programme's warehouse: created with the programme (created here for one that has none)."""
    row = await Location.select(Location.id).where(
        (Location.program == program_id) & Location.space.is_null()
    ).order_by(Location.id).first()
    if row:
        return row["id"]
    async with write_transaction():
        await _lock(Program, [program_id])
        row = await Location.select(Location.id).where(
            (Location.program == program_id) & Location.space.is_null()
        ).order_by(Location.id).first()
        if row:
            return row["id"]
        loc = Location(program=program_id, name="Warehouse")
        await loc.save()
        return loc.id


async def _location_in(program_id: int, location_id: Any, field: str = "location_id") -> dict:
    if location_id in (None, ""):
        location_id = await warehouse_id(program_id)
    loc = await Location.select().where((Location.id == _id(location_id, field)) & (Location.program == program_id)).first()
    if not loc:
        raise PlannerError("That location was not found in this programme.", "not_found", extra={"field": field})
    return loc


async def space_location_id(space_id: int) -> int:
    """The stock location of a space (its own shelf), for hand-outs at check-in.

    Every space gets one when it is created; one is created here for a space that has none.
    Safe inside the caller's write transaction.
    """
    row = await Location.select(Location.id).where(Location.space == space_id).order_by(Location.id).first()
    if row:
        return row["id"]
    space = await Space.select(Space.id, Space.program, Space.name).where(Space.id == space_id).first()
    if not space:
        raise not_found("That space")
    async with write_transaction():
        await _lock(Space, [space_id])
        row = await Location.select(Location.id).where(Location.space == space_id).order_by(Location.id).first()
        if row:
            return row["id"]
        loc = Location(program=space["program"], name=space["name"], space=space_id)
        await loc.save()
        return loc.id


async def list_locations(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    await warehouse_id(program_id)
    return [location_out(r) for r in await _locations(program_id)]


async def add_location(program_id: int, data: dict, *, user: dict | None) -> dict:
    """A storage place that is not a space: a second store, a van. Spaces get theirs automatically."""
    await require_role(user, program_id, "organizer")
    name = _text(data, "name", "Name", required=True)
    async with write_transaction():
        await _lock(Program, [program_id])
        if await Location.exists().where((Location.program == program_id) & (Location.name == name)):
            raise PlannerError(_l("There is already a location called {name}.", name=name), "conflict", extra={"field": "name"})
        loc = Location(program=program_id, name=name)
        await loc.save()
    return location_out(loc.to_dict())
