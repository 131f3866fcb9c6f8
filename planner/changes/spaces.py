"""A space comes with a shelf for kits; deleting one takes its empty shelf along."""
from __future__ import annotations

from typing import Any

from planner.db import raw, write_transaction
from planner.errors import PlannerError
from planner.i18n import _l
from planner.inventory.tables import Location, StockLevel, StockMovement
from planner.scheduling import spaces as sched_spaces


async def add_space(program_id: int, data: dict, *, user: dict | None) -> dict:
    async with write_transaction():
        space = await sched_spaces.add_space(program_id, data, user=user)
        await Location.insert(Location(program=program_id, name=space["name"], space=space["id"]))
    return space


async def delete_space(space_id: Any, *, user: dict | None) -> None:
    """Delete a space that no activity uses (its empty shelf goes with it); otherwise say what is in the way."""
    usage = await sched_spaces.space_usage(space_id, user=user)
    s = usage["space"]
    async with write_transaction():
        if (await raw("SELECT count(*) AS n FROM presence_scan WHERE space = {}", s["id"]))[0]["n"]:
            raise PlannerError(_l("{name} has entry and exit scans on record, so it stays.", name=s["name"]), "conflict")
        shelves = [r["id"] for r in await Location.select(Location.id).where(Location.space == s["id"])]
        if shelves and await StockMovement.exists().where(StockMovement.location.is_in(shelves)):
            raise PlannerError(_l("{name}'s shelf has stock history; move its stock to the warehouse and keep the space.", name=s["name"]), "conflict")
        await sched_spaces.delete_space(s)
        if shelves:
            await StockLevel.delete().where(StockLevel.location.is_in(shelves))
            await Location.delete().where(Location.id.is_in(shelves))
