"""Hosts: who leads activities, and when they are not available."""
from __future__ import annotations

from typing import Any

from planner.accounts.rules import normalise_email
from planner.clock import as_utc, local
from planner.db import write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import row_id, text
from planner.programs.rules import program_row, require_role
from planner.scheduling.tables import (
    ActivityHost,
    Host,
    HostUnavailability,
)


def host_out(h: dict) -> dict:
    return {"id": h["id"], "program_id": h["program"], "name": h["name"], "email": h["email"]}


async def add_host(program_id: int, data: dict, *, user: dict | None) -> dict:
    await require_role(user, program_id, "organizer")
    email = data.get("email")
    host = Host(program=program_id, name=text(data, "name", "Name"), email=normalise_email(email) if email else None)
    await host.save()
    return host_out(host.to_dict())


async def _host_row(host_id: Any, user: dict | None) -> dict:
    h = await Host.select().where(Host.id == row_id(host_id, "Host")).first()
    if not h:
        raise not_found("That host")
    await require_role(user, h["program"], "organizer")
    return h


async def update_host(host_id: Any, data: dict, *, user: dict | None) -> dict:
    h = await _host_row(host_id, user)
    email = data.get("email")
    values = {"name": text({**h, **data}, "name", "Name"), "email": normalise_email(email) if email else None}
    await Host.update(values).where(Host.id == h["id"])
    return host_out({**h, **values})


async def host_usage(host_id: Any, *, user: dict | None) -> dict:
    h = await _host_row(host_id, user)
    acts = await ActivityHost.select(ActivityHost.activity.id, ActivityHost.activity.title).where(ActivityHost.host == h["id"])
    return {"host": host_out(h), "activities": [{"id": a["activity.id"], "title": a["activity.title"]} for a in acts]}


async def delete_host(host_id: Any, *, user: dict | None) -> int:
    """Delete a host: their activities stay, without them. Returns how many activities lost the host."""
    h = await _host_row(host_id, user)
    async with write_transaction():
        n = await ActivityHost.count().where(ActivityHost.host == h["id"])
        await ActivityHost.delete().where(ActivityHost.host == h["id"])
        await HostUnavailability.delete().where(HostUnavailability.host == h["id"])
        await Host.delete().where(Host.id == h["id"])
    return n


async def list_hosts(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    return [host_out(h) for h in await Host.select().where(Host.program == program_id).order_by(Host.name)]


async def add_unavailability(host_id: int, data: dict, *, user: dict | None) -> dict:
    h = await Host.select().where(Host.id == row_id(host_id, "Host")).first()
    if not h:
        raise not_found("That host")
    await require_role(user, h["program"], "organizer")
    p = await program_row(h["program"])
    starts = as_utc(data.get("starts_at") or "", p["timezone"], "starts_at")
    ends = as_utc(data.get("ends_at") or "", p["timezone"], "ends_at")
    if ends <= starts:
        raise PlannerError("The end must be after the start.", extra={"field": "ends_at"})
    row = HostUnavailability(host=h["id"], starts_at=starts, ends_at=ends, note=text(data, "note", "Note", required=False, max_len=300))
    await row.save()
    return {"id": row.id, "host_id": h["id"], "starts_at": local(starts, p["timezone"]).isoformat(), "ends_at": local(ends, p["timezone"]).isoformat(), "note": row.note}
