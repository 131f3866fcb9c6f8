"""The live counts for the dashboard and the scanner: who is in, who is expected, per activity and slot, for a day."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from planner import db
from planner.clock import local, zone
from planner.errors import PlannerError, not_found
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.scheduling.tables import Slot, Space
from planner.tickets.presence import space_state


def pick_day(value: Any, p: dict, *, now: datetime) -> date:
    """The chosen day, or today in the programme's zone; kept within the programme's dates."""
    if value in (None, ""):
        d = local(now, p["timezone"]).date()
    else:
        try:
            d = date.fromisoformat(str(value))
        except ValueError:
            raise PlannerError("day must be a date like 2027-07-02.", extra={"field": "day"}) from None
    return min(max(d, p["starts_on"]), p["ends_on"])


async def _in_list(sql: str, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    return await db.raw(sql.replace("{ids}", ", ".join("{}" for _ in ids)), *ids)


async def live_status(program_id: int, *, user: dict | None, day: Any = None, now: datetime) -> dict:
    """Per activity on one day: checked in, expected, no-shows, waitlist and kits, in people.

    `expected` is confirmed people (plus-ones included); `no_shows` is expected minus checked
    in, counted only for slots that have ended (None while none has); a residency's guests
    are expected on each of its days.
    """
    await require_role(user, program_id, "organizer", "staff")
    p = await Program.select(Program.id, Program.name, Program.timezone, Program.starts_on, Program.ends_on).where(
        Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    d = pick_day(day, p, now=now)
    start = datetime.combine(d, datetime.min.time(), tzinfo=zone(p["timezone"]))
    end = start + timedelta(days=1)
    slots = await Slot.select(
        Slot.id, Slot.activity, Slot.starts_at, Slot.ends_at, Slot.capacity,
        Slot.activity.title, Slot.activity.kind, Slot.activity.cancelled_at, Slot.activity.published, Slot.space.name,
    ).where((Slot.program == program_id) & (Slot.starts_at < end) & (Slot.ends_at > start)).order_by(Slot.starts_at)
    slots = [s for s in slots if s["activity.published"]]
    slot_ids = [s["id"] for s in slots]
    activity_ids = sorted({s["activity"] for s in slots})

    came = {r["slot"]: r for r in await _in_list(
        "SELECT slot, SUM(party) AS people, SUM(CASE WHEN kit = 'handed_out' THEN party ELSE 0 END) AS kits "
        "FROM checkin WHERE slot IN ({ids}) GROUP BY slot", slot_ids)}
    # People by (slot, status) and by (activity, status): residencies hold every day's seat on their first slot.
    by_slot: dict[tuple[int, str], int] = {}
    by_activity: dict[tuple[int, str], int] = {}
    for r in await _in_list(
        "SELECT activity, slot, status, SUM(1 + guests) AS people FROM rsvp "
        "WHERE activity IN ({ids}) AND status IN ('confirmed', 'waitlisted') GROUP BY activity, slot, status", activity_ids):
        people = int(r["people"] or 0)
        by_slot[(r["slot"], r["status"])] = by_slot.get((r["slot"], r["status"]), 0) + people
        by_activity[(r["activity"], r["status"])] = by_activity.get((r["activity"], r["status"]), 0) + people

    tz = p["timezone"]
    activities: dict[int, dict] = {}
    for s in slots:
        per_day = s["activity.kind"] == "residency"
        key = s["activity"] if per_day else s["id"]
        counts = by_activity if per_day else by_slot
        expected = counts.get((key, "confirmed"), 0)
        c = came.get(s["id"]) or {}
        checked_in = int(c.get("people") or 0)
        ended = s["ends_at"] <= now
        row = {
            "id": s["id"], "starts_at": local(s["starts_at"], tz).isoformat(), "ends_at": local(s["ends_at"], tz).isoformat(),
            "capacity": s["capacity"], "checked_in": checked_in, "expected": expected,
            "no_shows": max(0, expected - checked_in) if ended else None,
            "waitlist": counts.get((key, "waitlisted"), 0), "kits": int(c.get("kits") or 0), "ended": ended,
        }
        a = activities.get(s["activity"])
        if a is None:
            a = activities[s["activity"]] = {
                "id": s["activity"], "title": s["activity.title"], "kind": s["activity.kind"], "space": s["space.name"],
                "cancelled": s["activity.cancelled_at"] is not None, "starts_at": row["starts_at"], "ends_at": row["ends_at"],
                "capacity": 0, "checked_in": 0, "expected": 0, "no_shows": None, "waitlist": 0, "kits": 0, "slots": [],
            }
        a["ends_at"] = row["ends_at"]
        for k in ("capacity", "checked_in", "expected", "waitlist", "kits"):
            a[k] += row[k]
        if row["no_shows"] is not None:
            a["no_shows"] = (a["no_shows"] or 0) + row["no_shows"]
        a["slots"].append(row)

    out = list(activities.values())
    totals = {k: sum(a[k] for a in out) for k in ("checked_in", "expected", "waitlist", "kits")}
    ended = [a["no_shows"] for a in out if a["no_shows"] is not None]
    totals["no_shows"] = sum(ended) if ended else None
    spaces = await Space.select(Space.id, Space.name, Space.inside, Space.capacity).where(
        (Space.program == program_id) & (Space.counts_presence == True)).order_by(Space.name)  # noqa: E712
    return {
        "program": {"id": p["id"], "name": p["name"], "timezone": tz},
        "day": d.isoformat(),
        "days": [(p["starts_on"] + timedelta(days=i)).isoformat() for i in range((p["ends_on"] - p["starts_on"]).days + 1)],
        "generated_at": local(now, tz).isoformat(),
        "totals": totals,
        "activities": out,
        "spaces": [space_state(s) for s in spaces],
    }
