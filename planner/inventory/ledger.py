"""What is on hand and how it got there: stock levels, the ledger, their CSV exports and the ledger's self-check."""
from __future__ import annotations

import io
from typing import Any

from planner.accounts.tables import User
from planner.clock import local
from planner.db import raw
from planner.fields import SafeCsvWriter
from planner.fields import formula_safe as _csv_safe
from planner.inventory.items import _id
from planner.inventory.levels import is_low
from planner.inventory.places import _locations, _program, warehouse_id
from planner.inventory.tables import Item, Location, StockLevel, StockMovement
from planner.programs.rules import require_role

LEDGER_PAGE = 200



async def stock(program_id: int, *, user: dict | None) -> list[dict]:
    """Every item and kit with its total on hand, low flag and per-location detail."""
    await require_role(user, program_id)
    await warehouse_id(program_id)
    items = await Item.select().where(Item.program == program_id).order_by(Item.is_kit, ascending=False).order_by(Item.name)
    locations = await _locations(program_id)
    order = {loc["id"]: i for i, loc in enumerate(locations)}
    names = {loc["id"]: loc["name"] for loc in locations}
    levels = await StockLevel.select(StockLevel.item, StockLevel.location, StockLevel.on_hand).where(StockLevel.program == program_id)
    by_item: dict[int, list[dict]] = {}
    for lv in levels:
        by_item.setdefault(lv["item"], []).append(lv)
    out = []
    for it in items:
        lv = sorted(by_item.get(it["id"], []), key=lambda x: order.get(x["location"], 1_000_000))
        total = sum(x["on_hand"] for x in lv)
        out.append({
            "item_id": it["id"], "name": it["name"], "on_hand": total, "low": is_low(total, it["low_stock_at"]),
            "sku": it["sku"], "unit": it["unit"], "is_kit": it["is_kit"], "low_stock_at": it["low_stock_at"],
            "locations": [{"location_id": x["location"], "name": names.get(x["location"], ""), "on_hand": x["on_hand"]} for x in lv],
        })
    return out


async def _names(program_id: int) -> dict:
    items = {r["id"]: r for r in await Item.select(Item.id, Item.name, Item.sku, Item.unit).where(Item.program == program_id)}
    locs = {r["id"]: r["name"] for r in await Location.select(Location.id, Location.name).where(Location.program == program_id)}
    return {"items": items, "locations": locs}


def _movement_out(m: dict, tz: str, names: dict, users: dict | None = None) -> dict:
    it = names["items"].get(m["item"], {})
    return {
        "id": m["id"], "item_id": m["item"], "item": it.get("name", ""), "location_id": m["location"],
        "location": names["locations"].get(m["location"], ""), "quantity": m["quantity"], "kind": m["kind"],
        "reason": m["reason"], "ref": m["ref"], "user_id": m["user"],
        **({"user": (users or {}).get(m["user"], "")} if users is not None else {}),
        "created_at": local(m["created_at"], tz).isoformat(),
    }


async def ledger(program_id: int, *, user: dict | None, item_id: Any = None, location_id: Any = None,
                 kind: str | None = None, before_id: Any = None, limit: int | None = LEDGER_PAGE) -> list[dict]:
    """Ledger lines, newest first; page back with before_id (the last id seen). limit=None: all of them."""
    await require_role(user, program_id)
    p = await _program(program_id)
    q = StockMovement.select().where(StockMovement.program == program_id)
    if item_id not in (None, ""):
        q = q.where(StockMovement.item == _id(item_id, "item_id"))
    if location_id not in (None, ""):
        q = q.where(StockMovement.location == _id(location_id, "location_id"))
    if kind:
        q = q.where(StockMovement.kind == kind)
    if before_id not in (None, ""):
        q = q.where(StockMovement.id < _id(before_id, "before_id"))
    q = q.order_by(StockMovement.id, ascending=False)
    rows = await (q if limit is None else q.limit(max(1, min(int(limit), 5000))))
    names = await _names(program_id)
    user_ids = sorted({r["user"] for r in rows if r["user"]})
    users: dict = {}
    if user_ids:
        users = {u["id"]: u["email"] for u in await User.select(User.id, User.email).where(User.id.is_in(user_ids))}
    return [_movement_out(r, p["timezone"], names, users) for r in rows]


async def stock_csv(program_id: int, *, user: dict | None) -> str:
    rows = await stock(program_id, user=user)
    locations = await _locations(program_id)
    buf = io.StringIO()
    w = SafeCsvWriter(buf)
    w.writerow(["item_id", "name", "sku", "unit", "kit", "on_hand", "low_stock_at", "low", *[loc["name"] for loc in locations]])
    for r in rows:
        per = {x["location_id"]: x["on_hand"] for x in r["locations"]}
        w.writerow([r["item_id"], _csv_safe(r["name"]), _csv_safe(r["sku"]), _csv_safe(r["unit"]), "yes" if r["is_kit"] else "no",
                    r["on_hand"], r["low_stock_at"], "yes" if r["low"] else "no", *[per.get(loc["id"], 0) for loc in locations]])
    return buf.getvalue()


async def ledger_csv(program_id: int, *, user: dict | None) -> str:
    rows = await ledger(program_id, user=user, limit=None)
    buf = io.StringIO()
    w = SafeCsvWriter(buf)
    w.writerow(["id", "created_at", "item_id", "item", "location_id", "location", "kind", "quantity", "reason", "ref", "user"])
    for r in reversed(rows):  # oldest first, as a ledger reads
        w.writerow([r["id"], r["created_at"], r["item_id"], _csv_safe(r["item"]), r["location_id"], _csv_safe(r["location"]),
                    r["kind"], r["quantity"], _csv_safe(r["reason"]), _csv_safe(r["ref"]), r.get("user", "")])
    return buf.getvalue()


async def ledger_mismatches(program_id: int) -> list[dict]:
    """(item, location) pairs whose stock level differs from the sum of their ledger lines; [] when all agree."""
    sums = await raw(
        "SELECT item, location, SUM(quantity) AS n FROM stock_movement WHERE program = {} GROUP BY item, location",
        program_id,
    )
    levels = await StockLevel.select(StockLevel.item, StockLevel.location, StockLevel.on_hand).where(StockLevel.program == program_id)
    ledger_by = {(r["item"], r["location"]): int(r["n"]) for r in sums}
    level_by = {(r["item"], r["location"]): r["on_hand"] for r in levels}
    out = []
    for key in sorted(set(ledger_by) | set(level_by)):
        if ledger_by.get(key, 0) != level_by.get(key, 0):
            out.append({"item_id": key[0], "location_id": key[1], "ledger": ledger_by.get(key, 0), "on_hand": level_by.get(key, 0)})
    return out
