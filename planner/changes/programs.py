"""A new programme comes with its warehouse and its country's support resources."""
from __future__ import annotations

from planner.db import write_transaction
from planner.inventory.tables import Location
from planner.programs import rules as programs
from planner.resources.seed import resources_for
from planner.resources.tables import SupportResource


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
