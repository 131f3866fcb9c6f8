"""Shared helpers for the inventory tests: a programme with a space, items, and counting what was written."""
from __future__ import annotations

from planner.inventory.tables import Item, KitComponent, StockLevel, StockMovement
from planner.outbox.tables import OutboxMessage


async def inventory(api, setup) -> dict:
    pid = setup["program"]["id"]
    locs = (await api.get(f"/api/programs/{pid}/locations", expect=200)).json()
    warehouse = next(loc for loc in locs if loc["warehouse"])
    shelf = next(loc for loc in locs if loc["space_id"] == setup["space"]["id"])
    return {"pid": pid, "space_id": setup["space"]["id"], "warehouse": warehouse["id"], "shelf": shelf["id"]}


async def item(api, pid, name="Earplugs", **kw) -> dict:
    return (await api.post(f"/api/programs/{pid}/items", {"name": name, **kw}, expect=201)).json()


async def move(api, pid, expect=201, **body):
    return await api.post(f"/api/programs/{pid}/stock/movements", body, expect=expect)


async def on_hand(api, pid, item_id, location_id=None) -> int:
    rows = (await api.get(f"/api/programs/{pid}/stock", expect=200)).json()
    row = next(r for r in rows if r["item_id"] == item_id)
    if location_id is None:
        return row["on_hand"]
    return next((x["on_hand"] for x in row["locations"] if x["location_id"] == location_id), 0)


async def written() -> dict:
    """Row counts of everything the inventory writes, to show that a refusal changed nothing."""
    levels = await StockLevel.select(StockLevel.item, StockLevel.location, StockLevel.on_hand).order_by(StockLevel.id)
    return {
        "items": await Item.count(),
        "components": await KitComponent.count(),
        "movements": await StockMovement.count(),
        "levels": [(r["item"], r["location"], r["on_hand"]) for r in levels],
        "outbox": await OutboxMessage.count(),
    }
