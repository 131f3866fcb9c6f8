"""The kit forecast: how many kits each day's activities need against what the shelves hold."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from planner.clock import local
from planner.errors import not_found
from planner.inventory.items import _components
from planner.inventory.places import _locations, warehouse_id
from planner.inventory.tables import Item, StockLevel, StockMovement
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.scheduling.tables import Slot, Space


async def forecast(program_id: int, *, user: dict | None, now: datetime) -> dict:
    """Kits needed per day and location against the kits there, and what to pack to cover the gap.

    Demand for a kit at a space on a day = confirmed people (plus-ones included) in the day's
    slots of activities with that kit + each such activity's expected walk-ins (once per day
    it runs). Kits already handed out there that day count as demand met. From today on, the
    location's kits are used up day by day; a shortfall is covered first by the warehouse's
    kits, then by assembling kits from the warehouse's items (those short are flagged).
    """
    await require_role(user, program_id)
    p = await Program.select().where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    tz = p["timezone"]
    today = local(now, tz).date()
    wh = await warehouse_id(program_id)
    locations = await _locations(program_id)
    loc_by_space = {}
    for loc in sorted(locations, key=lambda x: x["id"]):
        if loc["space"] is not None:
            loc_by_space.setdefault(loc["space"], loc)
    spaces = {s["id"]: s for s in await Space.select(Space.id, Space.name).where(Space.program == program_id)}

    slots = await Slot.select(
        Slot.starts_at, Slot.confirmed, Slot.space, Slot.activity.id, Slot.activity.title, Slot.activity.kit,
        Slot.activity.walkin_estimate, Slot.activity.published,
    ).where(
        (Slot.program == program_id) & Slot.activity.kit.is_not_null() & Slot.activity.cancelled_at.is_null()
    ).order_by(Slot.starts_at)
    kit_ids = sorted({s["activity.kit"] for s in slots})
    kits = {k["id"]: k for k in await Item.select().where(Item.id.is_in(kit_ids))} if kit_ids else {}
    comps = await _components(kit_ids)

    # demand[(day, space, kit)] = {"confirmed", "walk_ins", "activities": {id: {...}}}
    demand: dict[tuple[date, int, int], dict] = {}
    for s in slots:
        key = (local(s["starts_at"], tz).date(), s["space"], s["activity.kit"])
        d = demand.setdefault(key, {"confirmed": 0, "walk_ins": 0, "activities": {}})
        a = d["activities"].get(s["activity.id"])
        if a is None:
            a = d["activities"][s["activity.id"]] = {
                "id": s["activity.id"], "title": s["activity.title"], "confirmed": 0,
                "walk_ins": s["activity.walkin_estimate"] or 0, "draft": not s["activity.published"],
            }
            d["walk_ins"] += a["walk_ins"]
        a["confirmed"] += s["confirmed"]
        d["confirmed"] += s["confirmed"]

    handed: dict[tuple[date, int, int], int] = {}
    if kit_ids:
        for m in await StockMovement.select(StockMovement.item, StockMovement.location, StockMovement.quantity, StockMovement.created_at).where(
            (StockMovement.program == program_id) & (StockMovement.kind == "hand_out") & StockMovement.item.is_in(kit_ids)
        ):
            k = (local(m["created_at"], tz).date(), m["location"], m["item"])
            handed[k] = handed.get(k, 0) - m["quantity"]

    levels = {(lv["item"], lv["location"]): lv["on_hand"] for lv in await StockLevel.select(
        StockLevel.item, StockLevel.location, StockLevel.on_hand).where(StockLevel.program == program_id)}
    projected = dict(levels)  # (item, location) -> what is expected to be left, used up day by day
    loc_name = {loc["id"]: loc["name"] for loc in locations}
    days: dict[date, dict] = {}
    total_short = 0
    for (day, space_id, kit_id) in sorted(demand, key=lambda k: (k[0], spaces.get(k[1], {}).get("name", ""), kits[k[2]]["name"])):
        d = demand[(day, space_id, kit_id)]
        loc = loc_by_space.get(space_id)
        loc_id = loc["id"] if loc else None
        kit = kits[kit_id]
        wanted = d["confirmed"] + d["walk_ins"]
        given = handed.get((day, loc_id, kit_id), 0)
        need = max(0, wanted - given)
        row: dict[str, Any] = {
            "kit_id": kit_id, "name": kit["name"], "unit": kit["unit"], "confirmed": d["confirmed"], "walk_ins": d["walk_ins"],
            "demand": wanted, "handed_out": given, "need": need,
            "on_hand": levels.get((kit_id, loc_id), 0), "available": 0, "shortfall": 0,
            "from_warehouse": 0, "to_assemble": 0, "components": [],
            "activities": sorted(d["activities"].values(), key=lambda a: a["title"]),
        }
        past = day < today
        if not past:
            available = projected.get((kit_id, loc_id), 0)
            short = max(0, need - available)
            projected[(kit_id, loc_id)] = max(0, available - need)
            from_wh = min(short, projected.get((kit_id, wh), 0)) if loc_id != wh else 0
            projected[(kit_id, wh)] = projected.get((kit_id, wh), 0) - from_wh
            assemble = short - from_wh
            parts = []
            for c in comps.get(kit_id, []):
                qty = assemble * c["quantity"]
                there = projected.get((c["item_id"], wh), 0)
                projected[(c["item_id"], wh)] = max(0, there - qty)
                if qty:
                    parts.append({"item_id": c["item_id"], "name": c["name"], "unit": c["unit"], "quantity": qty,
                                  "warehouse_on_hand": there, "short": max(0, qty - there)})
            row.update(available=available, shortfall=short, from_warehouse=from_wh, to_assemble=assemble, components=parts)
            total_short += short
        day_out = days.setdefault(day, {"date": day.isoformat(), "past": past, "today": day == today, "locations": {}})
        place = day_out["locations"].setdefault(loc_id or -space_id, {
            "location_id": loc_id, "name": loc["name"] if loc else spaces.get(space_id, {}).get("name", ""),
            "space_id": space_id, "kits": [],
        })
        place["kits"].append(row)

    out_days = []
    for day in sorted(days):
        dd = days[day]
        places = list(dd["locations"].values())
        for place in places:
            place["shortfall"] = sum(k["shortfall"] for k in place["kits"])
        pack: dict[int, dict] = {}
        for place in places:
            for k in place["kits"]:
                for c in k["components"]:
                    t = pack.setdefault(c["item_id"], {"item_id": c["item_id"], "name": c["name"], "unit": c["unit"], "quantity": 0, "short": 0})
                    t["quantity"] += c["quantity"]
                    t["short"] += c["short"]
        out_days.append({
            "date": dd["date"], "past": dd["past"], "today": dd["today"], "locations": places,
            "need": sum(k["need"] for pl in places for k in pl["kits"]),
            "shortfall": sum(pl["shortfall"] for pl in places),
            "from_warehouse": sum(k["from_warehouse"] for pl in places for k in pl["kits"]),
            "to_assemble": sum(k["to_assemble"] for pl in places for k in pl["kits"]),
            "components": sorted(pack.values(), key=lambda c: c["name"]),
        })
    return {
        "program": {"id": p["id"], "name": p["name"], "timezone": tz},
        "today": today.isoformat(),
        "warehouse": {"location_id": wh, "name": loc_name.get(wh, "Warehouse")},
        "shortfall": total_short,
        "days": out_days,
    }
