"""Items and kits: what the programme hands out, each with its unit and its low-stock line."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from planner.db import write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import whole
from planner.i18n import _l, _nl
from planner.inventory.levels import lock as _lock
from planner.inventory.tables import Item, KitComponent, StockLevel, StockMovement
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.scheduling.tables import Activity

MAX_QUANTITY = 1_000_000



def _text(data: dict, key: str, label: str, *, required: bool = False, max_len: int = 200, default: str = "") -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise PlannerError(_l("{label} is required.", label=_l(label)), extra={"field": key})
        return default
    if not isinstance(value, str):
        raise PlannerError(_l("{label} must be text.", label=_l(label)), extra={"field": key})
    value = value.strip()
    if len(value) > max_len:
        raise PlannerError(_l("{label} can be at most {max_len} characters.", label=_l(label), max_len=max_len), extra={"field": key})
    return value


def _whole(value: Any, label: str, field: str, *, minimum: int = -MAX_QUANTITY, maximum: int = MAX_QUANTITY) -> int:
    return whole(value, label, field, minimum=minimum, maximum=maximum)


def _id(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise PlannerError(_l("{field} is not a valid id.", field=field), extra={"field": field})
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise PlannerError(_l("{field} is not a valid id.", field=field), extra={"field": field}) from exc



def item_out(it: dict) -> dict:
    return {
        "id": it["id"], "program_id": it["program"], "name": it["name"], "sku": it["sku"], "unit": it["unit"],
        "low_stock_at": it["low_stock_at"], "is_kit": it["is_kit"],
    }


async def _item_in(program_id: int, item_id: Any, field: str = "item_id") -> dict:
    it = await Item.select().where((Item.id == _id(item_id, field)) & (Item.program == program_id)).first()
    if not it:
        raise PlannerError("That item was not found in this programme.", "not_found", extra={"field": field})
    return it



def _item_fields(data: dict, current: dict | None = None) -> dict:
    merged = {**(current or {}), **{k: v for k, v in data.items() if v is not None}}
    return dict(
        name=_text(merged, "name", "Name", required=True),
        sku=_text(merged, "sku", "SKU", max_len=64),
        unit=_text(merged, "unit", "Unit", max_len=30, default="piece"),
        low_stock_at=_whole(merged.get("low_stock_at", 0), "Low-stock alert level", "low_stock_at", minimum=0),
    )


async def _check_sku_free(program_id: int, sku: str, exclude: int | None = None) -> None:
    if not sku:
        return
    q = Item.select(Item.id, Item.name).where((Item.program == program_id) & (Item.sku == sku))
    if exclude:
        q = q.where(Item.id != exclude)
    other = await q.first()
    if other:
        raise PlannerError(_l("SKU {sku} is already used by {name}.", sku=sku, name=other["name"]), "conflict", extra={"field": "sku", "item_id": other["id"]})


async def add_item(program_id: int, data: dict, *, user: dict | None, now: datetime) -> dict:
    await require_role(user, program_id, "organizer")
    fields = _item_fields(data)
    async with write_transaction():
        await _lock(Program, [program_id])  # one SKU per programme: item creation is serialised per programme
        await _check_sku_free(program_id, fields["sku"])
        item = Item(program=program_id, is_kit=False, created_at=now, **fields)
        await item.save()
    return item_out(item.to_dict())


async def update_item(item_id: Any, data: dict, *, user: dict | None) -> dict:
    it = await Item.select().where(Item.id == _id(item_id, "item_id")).first()
    if not it:
        raise not_found("That item")
    await require_role(user, it["program"], "organizer")
    fields = _item_fields(data, it)
    async with write_transaction():
        await _lock(Program, [it["program"]])
        await _check_sku_free(it["program"], fields["sku"], exclude=it["id"])
        await Item.update(fields).where(Item.id == it["id"])
    return item_out({**it, **fields})


async def item_usage(item_id: Any, *, user: dict | None) -> dict:
    """What deleting an item or kit would touch: its ledger lines, the kits it is in, the activities handing it out."""
    it = await Item.select().where(Item.id == _id(item_id, "item_id")).first()
    if not it:
        raise not_found("That item")
    await require_role(user, it["program"], "organizer")
    kits = await KitComponent.select(KitComponent.kit.name).where(KitComponent.item == it["id"])
    acts = await Activity.select(Activity.id, Activity.title).where(Activity.kit == it["id"])
    return {"item": item_out(it), "movements": await StockMovement.count().where(StockMovement.item == it["id"]),
            "kits": [k["kit.name"] for k in kits], "activities": acts}


async def delete_item(item_id: Any, *, user: dict | None) -> None:
    """Delete an item or kit that nothing refers to; stock history is never rewritten, so an item with
    ledger lines stays (set its alert to 0 instead)."""
    usage = await item_usage(item_id, user=user)
    it = usage["item"]
    if usage["movements"]:
        raise PlannerError(_nl("{name} has {n} stock movement on record, so it stays; the ledger is never rewritten.",
                               "{name} has {n} stock movements on record, so it stays; the ledger is never rewritten.",
                               usage["movements"], name=it["name"]), "conflict")
    if usage["kits"]:
        raise PlannerError(_l("{name} is part of the kit {kit}; change or delete that kit first.", name=it["name"], kit=usage["kits"][0]), "conflict")
    if usage["activities"]:
        raise PlannerError(_l("{title} hands out {name}; choose another kit there first.", title=usage["activities"][0]["title"], name=it["name"]), "conflict")
    async with write_transaction():
        await StockLevel.delete().where(StockLevel.item == it["id"])
        await KitComponent.delete().where(KitComponent.kit == it["id"])
        await Item.delete().where(Item.id == it["id"])


async def list_items(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    rows = await Item.select().where((Item.program == program_id) & (Item.is_kit == False)).order_by(Item.name)  # noqa: E712
    return [item_out(r) for r in rows]


async def _components(kit_ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {k: [] for k in kit_ids}
    if not kit_ids:
        return out
    rows = await KitComponent.select(
        KitComponent.kit, KitComponent.item, KitComponent.quantity, KitComponent.item.name, KitComponent.item.unit,
    ).where(KitComponent.kit.is_in(kit_ids)).order_by(KitComponent.id)
    for r in rows:
        out[r["kit"]].append({"item_id": r["item"], "name": r["item.name"], "unit": r["item.unit"], "quantity": r["quantity"]})
    return out


def kit_out(kit: dict, components: list[dict]) -> dict:
    return {**item_out(kit), "items": components}


async def add_kit(program_id: int, data: dict, *, user: dict | None, now: datetime) -> dict:
    await require_role(user, program_id, "organizer")
    fields = _item_fields(data)
    lines = data.get("items")
    if not isinstance(lines, list) or not lines:
        raise PlannerError("A kit needs at least one item: items is a list of {item_id, quantity}.", extra={"field": "items"})
    if len(lines) > 50:
        raise PlannerError("A kit can have at most 50 different items.", extra={"field": "items"})
    wanted: dict[int, int] = {}
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            raise PlannerError("items is a list of {item_id, quantity}.", extra={"field": "items"})
        item_id = _id(line.get("item_id"), f"items[{i}].item_id")
        q = _whole(line.get("quantity", 1), "A kit item's quantity", f"items[{i}].quantity", minimum=1, maximum=1000)
        wanted[item_id] = wanted.get(item_id, 0) + q
    found = await Item.select().where(Item.id.is_in(list(wanted)) & (Item.program == program_id))
    if len(found) != len(wanted):
        raise PlannerError("An item of the kit was not found in this programme.", "not_found", extra={"field": "items"})
    if any(f["is_kit"] for f in found):
        raise PlannerError("A kit is made of items, not of other kits.", extra={"field": "items"})
    async with write_transaction():
        await _lock(Program, [program_id])
        await _check_sku_free(program_id, fields["sku"])
        kit = Item(program=program_id, is_kit=True, created_at=now, **fields)
        await kit.save()
        await KitComponent.insert(*[KitComponent(kit=kit.id, item=i, quantity=q) for i, q in wanted.items()])
    comps = await _components([kit.id])
    return kit_out(kit.to_dict(), comps[kit.id])


async def list_kits(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    kits = await Item.select().where((Item.program == program_id) & (Item.is_kit == True)).order_by(Item.name)  # noqa: E712
    comps = await _components([k["id"] for k in kits])
    return [kit_out(k, comps[k["id"]]) for k in kits]
