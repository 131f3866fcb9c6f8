"""Spaces: where activities happen, each with a capacity, access notes and a turnover buffer; names unique per programme."""
from __future__ import annotations

from typing import Any

from planner.db import locked, write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import row_id, text, whole
from planner.i18n import _l, _nl
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.scheduling.tables import (
    Activity,
    Space,
)


def _int(data: dict, key: str, label: str, *, default: int | None = None, minimum: int = 0, maximum: int = 100_000) -> int:
    return whole(data.get(key, default), label, key, minimum=minimum, maximum=maximum)


def space_out(s: dict) -> dict:
    return {
        "id": s["id"], "program_id": s["program"], "name": s["name"], "capacity": s["capacity"],
        "access_notes": s["access_notes"], "address": s["address"],
        "turnover_minutes": s["turnover_minutes"], "counts_presence": s["counts_presence"],
        "inside": s["inside"],
    }


async def add_space(program_id: int, data: dict, *, user: dict | None) -> dict:
    """The space alone; planner.changes.spaces adds its shelf in the same transaction."""
    await require_role(user, program_id, "organizer")
    values = dict(
        program=program_id,
        name=text(data, "name", "Name"),
        capacity=_int(data, "capacity", "Capacity", minimum=1),
        access_notes=text(data, "access_notes", "Access notes", required=False, max_len=2000),
        address=text(data, "address", "Address", required=False, max_len=500),
        turnover_minutes=_int(data, "turnover_minutes", "Turnover buffer", default=0, maximum=24 * 60),
        counts_presence=bool(data.get("counts_presence", False)),
    )
    async with write_transaction():
        await _space_name_free(program_id, values["name"])
        space = Space(**values)
        await space.save()
    return space_out(space.to_dict())


async def update_space(space_id: int, data: dict, *, user: dict | None) -> dict:
    s = await Space.select().where(Space.id == row_id(space_id, "Space")).first()
    if not s:
        raise not_found("That space")
    await require_role(user, s["program"], "organizer")
    merged = {**s, **{k: v for k, v in data.items() if v is not None}}
    values = dict(
        name=text(merged, "name", "Name"),
        capacity=_int(merged, "capacity", "Capacity", minimum=1),
        access_notes=text(merged, "access_notes", "Access notes", required=False, max_len=2000),
        address=text(merged, "address", "Address", required=False, max_len=500),
        turnover_minutes=_int(merged, "turnover_minutes", "Turnover buffer", default=0, maximum=24 * 60),
        counts_presence=bool(merged.get("counts_presence")),
    )
    async with write_transaction():
        await _space_name_free(s["program"], values["name"], exclude=s["id"])
        await Space.update(values).where(Space.id == s["id"])
    return space_out({**s, **values})


async def _space_name_free(program_id: int, name: str, exclude: int | None = None) -> None:
    """Space names are unique in a programme (ignoring case); checked with the programme row locked."""
    await locked(Program.select(Program.id).where(Program.id == program_id))
    q = Space.select(Space.id, Space.name).where(Space.program == program_id)
    if exclude:
        q = q.where(Space.id != exclude)
    if any(r["name"].casefold() == name.casefold() for r in await q):
        raise PlannerError(_l("This programme already has a space called “{name}”; choose another name.", name=name), "conflict", extra={"field": "name"})


async def space_usage(space_id: Any, *, user: dict | None) -> dict:
    """What deleting a space would affect."""
    s = await Space.select().where(Space.id == row_id(space_id, "Space")).first()
    if not s:
        raise not_found("That space")
    await require_role(user, s["program"], "organizer")
    acts = await Activity.select(Activity.id, Activity.title).where(Activity.space == s["id"]).order_by(Activity.starts_at)
    return {"space": space_out(s), "activities": acts}


async def delete_space(space: dict) -> None:
    """Delete a space that no activity uses, inside the caller's write transaction (see
    planner.changes.spaces, which checks the shelf and the scans first); otherwise say what is in the way."""
    async with write_transaction():
        if await Activity.exists().where(Activity.space == space["id"]):
            n = await Activity.count().where(Activity.space == space["id"])
            raise PlannerError(_nl("{n} activity uses {name}; move or delete it first.", "{n} activities use {name}; move or delete them first.", n, name=space["name"]), "conflict")
        await Space.delete().where(Space.id == space["id"])


async def list_spaces(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    return [space_out(s) for s in await Space.select().where(Space.program == program_id).order_by(Space.name)]
