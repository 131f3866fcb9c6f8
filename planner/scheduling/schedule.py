"""The day schedule: spaces as columns, the day's slots placed on a time axis."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from planner.clock import local, zone
from planner.programs.rules import program_row, require_role
from planner.scheduling.tables import (
    Slot,
    Space,
)


async def day_schedule(program_id: int, day: date, *, user: dict | None) -> dict:
    """Spaces as columns, the day's slots placed on a time axis (minutes since the day's first hour)."""
    await require_role(user, program_id)
    p = await program_row(program_id)
    tz = zone(p["timezone"])
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=1)
    spaces = await Space.select().where(Space.program == program_id).order_by(Space.name)
    rows = await Slot.select(
        Slot.id, Slot.starts_at, Slot.ends_at, Slot.space, Slot.capacity, Slot.confirmed, Slot.waiting,
        Slot.activity.id, Slot.activity.title, Slot.activity.kind, Slot.activity.published, Slot.activity.cancelled_at,
    ).where((Slot.program == program_id) & (Slot.starts_at < end) & (Slot.ends_at > start)).order_by(Slot.starts_at)
    first_hour = min([local(r["starts_at"], p["timezone"]).hour for r in rows] + [8])
    last_hour = max([min(24, local(r["ends_at"], p["timezone"]).hour + 1) for r in rows] + [20])
    columns = []
    for s in spaces:
        items = []
        for r in rows:
            if r["space"] != s["id"]:
                continue
            a0 = max(local(r["starts_at"], p["timezone"]), start)
            a1 = min(local(r["ends_at"], p["timezone"]), end)
            items.append({
                "slot_id": r["id"], "activity_id": r["activity.id"], "title": r["activity.title"],
                "kind": r["activity.kind"], "published": r["activity.published"],
                "cancelled": r["activity.cancelled_at"] is not None,
                "start": a0, "end": a1,
                "top": (a0.hour - first_hour) * 60 + a0.minute,
                "height": max(20, int((a1 - a0).total_seconds() // 60)),
                "capacity": r["capacity"], "confirmed": r["confirmed"], "waiting": r["waiting"],
            })
        columns.append({"space": s, "items": items})
    return {"program": p, "day": day, "columns": columns, "first_hour": first_hour, "last_hour": last_hour}
