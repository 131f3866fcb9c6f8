"""Self-care stock: items, kits, locations, the ledger, deliveries and the pack-list forecast.

Stock on hand per (item, location) lives in `stock_level` and always equals the sum of
that pair's `stock_movement` rows: every change writes both in one `write_transaction()`.
Decrements are conditional (`... WHERE on_hand >= q RETURNING on_hand`), never
read-then-write, so stock cannot go below zero; the database's CHECK (PostgreSQL) or
trigger (SQLite) is the last line. On PostgreSQL the moved items' rows are locked first,
always in id order, so movements of one item are serialised (exact low-stock crossings,
no deadlocks); on SQLite the IMMEDIATE transaction already serialises.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import secrets
from datetime import date, datetime
from typing import Any, AsyncIterator

from planner.accounts.tables import User
from planner.clock import local
from planner.db import engine, raw, write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import SafeCsvWriter, csv_rows, whole
from planner.fields import formula_safe as _csv_safe
from planner.i18n import _l, _nl
from planner.inventory.handout import hand_out
from planner.inventory.levels import add as _add
from planner.inventory.levels import alert_low_stock, crossed_low, is_low
from planner.inventory.levels import lock as _lock
from planner.inventory.levels import on_hand as _on_hand
from planner.inventory.levels import take as _take
from planner.inventory.levels import total as _total
from planner.inventory.tables import Item, KitComponent, Location, StockLevel, StockMovement
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.scheduling.tables import Activity, Slot, Space
from planner.terms import Term

# Kinds a person may post; "hand_out" from the API is a manual hand-out (a walk-in without a ticket).
API_KINDS = ("receive", "transfer", "adjust", "assemble", "return", "hand_out")
INCREASES = ("receive", "return")
MAX_QUANTITY = 1_000_000
MAX_CSV_ROWS = 5000
LEDGER_PAGE = 200


# ---------------------------------------------------------------- validation

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


@contextlib.asynccontextmanager
async def _writing() -> AsyncIterator[None]:
    """The caller's write transaction if there is one (a check-in), else a new one."""
    if engine().transaction_exists():
        yield
    else:
        async with write_transaction():
            yield


# ---------------------------------------------------------------- shapes

def item_out(it: dict) -> dict:
    return {
        "id": it["id"], "program_id": it["program"], "name": it["name"], "sku": it["sku"], "unit": it["unit"],
        "low_stock_at": it["low_stock_at"], "is_kit": it["is_kit"],
    }


def location_out(loc: dict) -> dict:
    return {"id": loc["id"], "program_id": loc["program"], "name": loc["name"], "space_id": loc["space"],
            "warehouse": bool(loc.get("warehouse"))}


async def _program(program_id: int) -> dict:
    p = await Program.select(Program.id, Program.name, Program.timezone).where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    return p


async def _item_in(program_id: int, item_id: Any, field: str = "item_id") -> dict:
    it = await Item.select().where((Item.id == _id(item_id, field)) & (Item.program == program_id)).first()
    if not it:
        raise PlannerError("That item was not found in this programme.", "not_found", extra={"field": field})
    return it


async def _locations(program_id: int) -> list[dict]:
    """The programme's locations, warehouse first (the oldest location without a space), then by name."""
    rows = await Location.select().where(Location.program == program_id).order_by(Location.id)
    wh = next((r for r in rows if r["space"] is None), None)
    for r in rows:
        r["warehouse"] = r is wh
    return sorted(rows, key=lambda r: (not r["warehouse"], r["space"] is not None, r["name"].lower(), r["id"]))


async def warehouse_id(program_id: int) -> int:
    """The programme's warehouse: created with the programme (created here for one that has none)."""
    row = await Location.select(Location.id).where(
        (Location.program == program_id) & Location.space.is_null()
    ).order_by(Location.id).first()
    if row:
        return row["id"]
    async with _writing():
        await _lock(Program, [program_id])
        row = await Location.select(Location.id).where(
            (Location.program == program_id) & Location.space.is_null()
        ).order_by(Location.id).first()
        if row:
            return row["id"]
        loc = Location(program=program_id, name="Warehouse")
        await loc.save()
        return loc.id


async def _location_in(program_id: int, location_id: Any, field: str = "location_id") -> dict:
    if location_id in (None, ""):
        location_id = await warehouse_id(program_id)
    loc = await Location.select().where((Location.id == _id(location_id, field)) & (Location.program == program_id)).first()
    if not loc:
        raise PlannerError("That location was not found in this programme.", "not_found", extra={"field": field})
    return loc


async def space_location_id(space_id: int) -> int:
    """The stock location of a space (its own shelf), for hand-outs at check-in.

    Every space gets one when it is created; one is created here for a space that has none.
    Safe inside the caller's write transaction.
    """
    row = await Location.select(Location.id).where(Location.space == space_id).order_by(Location.id).first()
    if row:
        return row["id"]
    space = await Space.select(Space.id, Space.program, Space.name).where(Space.id == space_id).first()
    if not space:
        raise not_found("That space")
    async with _writing():
        await _lock(Space, [space_id])
        row = await Location.select(Location.id).where(Location.space == space_id).order_by(Location.id).first()
        if row:
            return row["id"]
        loc = Location(program=space["program"], name=space["name"], space=space_id)
        await loc.save()
        return loc.id


# ---------------------------------------------------------------- ledger primitives (inside a write transaction)

def _too_little(item: dict, location: dict, have: int, needed: int) -> PlannerError:
    unit = item["unit"] or "piece"
    return PlannerError(
        _l("Not enough {item} at {location}: {have} {unit}(s) on hand, {needed} needed. Nothing was changed.",
           item=item["name"], location=Term(location["name"]), have=have, unit=Term(unit), needed=needed),
        "insufficient_stock",
        extra={"item_id": item["id"], "location_id": location["id"], "on_hand": have, "needed": needed},
    )


async def _alert_if_crossed(items: dict[int, dict], before: dict[int, int], now: datetime) -> None:
    """One email per organizer when an item's total crosses its low-stock line (levels.crossed_low)."""
    for item_id, was in before.items():
        it = items[item_id]
        if not is_low(was, it["low_stock_at"]):
            after = await _total(item_id)
            if crossed_low(was, after, it["low_stock_at"]):
                await alert_low_stock(it, after, now=now)


async def _apply(program_id: int, items: dict[int, dict], locations: dict[int, dict],
                 lines: list[tuple[int, int, int]], *, kind: str, reason: str, ref: str,
                 user_id: int | None, now: datetime) -> list[dict]:
    """Apply (item, location, signed quantity) lines and write their ledger rows; all or nothing.

    The caller holds a write transaction and the items' locks. Takes come before adds,
    so a failure leaves nothing half-done (the transaction rolls back anyway).
    """
    before = {i: await _total(i) for i in sorted({line[0] for line in lines if line[2] < 0})}
    levels = {}
    for item_id, location_id, q in sorted(lines, key=lambda line: line[2] >= 0):
        if q < 0:
            left = await _take(item_id, location_id, -q)
            if left is None:
                raise _too_little(items[item_id], locations[location_id], await _on_hand(item_id, location_id), -q)
            levels[(item_id, location_id)] = left
        else:
            levels[(item_id, location_id)] = await _add(program_id, item_id, location_id, q)
    rows = [
        StockMovement(program=program_id, item=item_id, location=location_id, quantity=q, kind=kind,
                      reason=reason, ref=ref, user=user_id, created_at=now)
        for item_id, location_id, q in lines
    ]
    await StockMovement.insert(*rows)
    await _alert_if_crossed(items, before, now)
    return [{**r.to_dict(), "on_hand": levels[(r.item, r.location)]} for r in rows]


# ---------------------------------------------------------------- items, kits, locations

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


async def list_locations(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    await warehouse_id(program_id)
    return [location_out(r) for r in await _locations(program_id)]


async def add_location(program_id: int, data: dict, *, user: dict | None) -> dict:
    """A storage place that is not a space: a second store, a van. Spaces get theirs automatically."""
    await require_role(user, program_id, "organizer")
    name = _text(data, "name", "Name", required=True)
    async with write_transaction():
        await _lock(Program, [program_id])
        if await Location.exists().where((Location.program == program_id) & (Location.name == name)):
            raise PlannerError(_l("There is already a location called {name}.", name=name), "conflict", extra={"field": "name"})
        loc = Location(program=program_id, name=name)
        await loc.save()
    return location_out(loc.to_dict())


# ---------------------------------------------------------------- movements

async def _outcome(program_id: int, ref: str, kind: str, item_id: int | None, *, repeated: bool) -> dict:
    q = StockMovement.select().where((StockMovement.program == program_id) & (StockMovement.ref == ref) & (StockMovement.kind == kind))
    rows = await q.order_by(StockMovement.id)
    if item_id is not None and kind != "assemble":
        rows = [r for r in rows if r["item"] == item_id]
    p = await _program(program_id)
    names = await _names(program_id)
    return {"ref": ref, "kind": kind, "repeated": repeated, "movements": [_movement_out(r, p["timezone"], names) for r in rows]}


async def _repeat_of(program_id: int, ref: str, kind: str, item_id: int | None) -> bool:
    cond = (StockMovement.program == program_id) & (StockMovement.ref == ref) & (StockMovement.kind == kind)
    if item_id is not None:
        cond &= StockMovement.item == item_id
    return await StockMovement.exists().where(cond)


async def move_stock(program_id: int, data: dict, *, user: dict | None, now: datetime) -> tuple[dict, bool]:
    """One movement: receive, return, adjust, transfer, assemble or a manual hand-out.

    Returns (outcome, created). A repeated request with the same `ref`, kind and item returns
    the first outcome and moves nothing (created False).
    """
    await require_role(user, program_id, "organizer")
    kind = data.get("kind")
    if kind not in API_KINDS:
        raise PlannerError(_l("kind must be one of {kinds}.", kinds=", ".join(API_KINDS)), extra={"field": "kind"})
    quantity = _whole(data.get("quantity"), "Quantity", "quantity")
    reason = _text(data, "reason", "Reason", max_len=500)
    given_ref = _text(data, "ref", "Reference", max_len=100)
    item = await _item_in(program_id, data.get("item_id"))
    source = await _location_in(program_id, data.get("location_id"))
    if kind == "adjust":
        if quantity == 0:
            raise PlannerError("An adjustment needs a quantity other than zero (negative takes stock away).", extra={"field": "quantity"})
        if not reason:
            raise PlannerError("An adjustment needs a reason, such as “counted at close” or “damaged in the rain”.", extra={"field": "reason"})
    elif quantity <= 0:
        raise PlannerError(
            _l("The quantity must be more than zero ({kind}); use an adjustment (with a reason) to correct stock.", kind=Term(kind)),
            extra={"field": "quantity"},
        )
    items = {item["id"]: item}
    locations = {source["id"]: source}
    if kind == "transfer":
        if data.get("to_location_id") in (None, ""):
            raise PlannerError("A transfer needs to_location_id, where the stock goes.", extra={"field": "to_location_id"})
        target = await _location_in(program_id, data.get("to_location_id"), "to_location_id")
        if target["id"] == source["id"]:
            raise PlannerError("A transfer must go to a different location.", extra={"field": "to_location_id"})
        locations[target["id"]] = target
        lines = [(item["id"], source["id"], -quantity), (item["id"], target["id"], quantity)]
    elif kind == "assemble":
        if not item["is_kit"]:
            raise PlannerError(_l("{name} is not a kit; only kits are assembled.", name=item["name"]), extra={"field": "item_id"})
        comps = (await _components([item["id"]]))[item["id"]]
        if not comps:
            raise PlannerError(_l("The kit {name} has no items to assemble it from.", name=item["name"]), extra={"field": "item_id"})
        for c in await Item.select().where(Item.id.is_in([c["item_id"] for c in comps])):
            items[c["id"]] = c
        lines = [(c["item_id"], source["id"], -quantity * c["quantity"]) for c in comps] + [(item["id"], source["id"], quantity)]
    elif kind in INCREASES:
        lines = [(item["id"], source["id"], quantity)]
    elif kind == "hand_out":
        lines = []  # the one kit hand-out, below
    else:  # adjust
        lines = [(item["id"], source["id"], quantity)]
    ref = given_ref or (f"{kind}:{secrets.token_hex(6)}" if kind in ("transfer", "assemble") else "")
    async with write_transaction():
        await _lock(Item, list(items))
        if given_ref and await _repeat_of(program_id, ref, kind, item["id"]):
            return await _outcome(program_id, ref, kind, item["id"], repeated=True), False
        if kind == "hand_out":
            written = [await _manual_hand_out(item, source, quantity, reason=reason, ref=ref,
                                              user_id=user["id"] if user else None, now=now)]
        else:
            written = await _apply(program_id, items, locations, lines, kind=kind, reason=reason, ref=ref,
                                   user_id=user["id"] if user else None, now=now)
    return await _written_out(program_id, ref, kind, written), True


async def _manual_hand_out(item: dict, location: dict, quantity: int, *, reason: str, ref: str, user_id: int | None,
                           now: datetime) -> dict:
    """A hand-out without a ticket (a walk-in served by hand): the same hand-out as a scan's, from a chosen location."""
    done = await hand_out(item_id=item["id"], quantity=quantity, program_id=item["program"], low_stock_at=item["low_stock_at"],
                          ref=ref, user_id=user_id, now=now, location_id=location["id"], reason=reason)
    if not done.handed_out:
        raise _too_little(item, location, await _on_hand(item["id"], location["id"]), quantity)
    return {"id": done.movement_id, "program": item["program"], "item": item["id"], "location": location["id"],
            "quantity": -quantity, "kind": "hand_out", "reason": reason, "ref": ref[:100], "user": user_id,
            "created_at": now, "on_hand": done.on_hand}


async def _written_out(program_id: int, ref: str, kind: str, written: list[dict]) -> dict:
    p = await _program(program_id)
    names = await _names(program_id)
    return {"ref": ref, "kind": kind, "repeated": False,
            "movements": [{**_movement_out(m, p["timezone"], names), "on_hand": m["on_hand"]} for m in written]}


# ---------------------------------------------------------------- deliveries (CSV import)

def parse_delivery_csv(text: str) -> tuple[list[dict], list[dict]]:
    """Rows of a delivery note: a header naming `quantity` and one of `sku`, `item_id`, `name`.

    Returns (rows, problems); a row is {"line", "item_id"|"sku"|"name", "quantity"}.
    """
    rows, problems = [], []
    header: list[str] | None = None
    for lineno, row in csv_rows(text):
        if not row or not any(c.strip() for c in row):
            continue
        if header is None:
            header = [c.strip().lower().replace(" ", "_") for c in row]
            header = ["quantity" if h in ("qty", "count") else "name" if h in ("item", "item_name") else h for h in header]
            if "quantity" not in header or not {"sku", "item_id", "name"} & set(header):
                raise PlannerError(
                    "The first row must name the columns: quantity, and sku, item_id or name (for example “sku,quantity”).",
                    extra={"problems": [{"line": lineno, "error": _l("Missing header row.")}]},
                )
            continue
        cells = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
        try:
            q = _whole(cells.get("quantity"), "Quantity", "quantity", minimum=1)
        except PlannerError as exc:
            problems.append({"line": lineno, "row": ",".join(row), "error": exc.text})
            continue
        key = next(((k, cells[k]) for k in ("item_id", "sku", "name") if cells.get(k)), None)
        if key is None:
            problems.append({"line": lineno, "row": ",".join(row), "error": _l("The row names no item.")})
            continue
        rows.append({"line": lineno, key[0]: key[1], "quantity": q, "row": ",".join(row)})
        if len(rows) > MAX_CSV_ROWS:
            raise PlannerError(_l("A delivery can have at most {n} rows; split it.", n=MAX_CSV_ROWS))
    if header is None:
        raise PlannerError("The delivery file is empty.", extra={"problems": []})
    return rows, problems


async def import_delivery(program_id: int, text: str, *, location_id: Any = None, ref: str | None = None,
                          reason: str = "", user: dict | None, now: datetime) -> tuple[dict, bool]:
    """Receive a whole delivery from CSV, all or nothing: one "receive" line per item, sharing a ref.

    The same file imported twice (or the same ref given twice) is received once.
    """
    await require_role(user, program_id, "organizer")
    rows, problems = parse_delivery_csv(text)
    location = await _location_in(program_id, location_id)
    all_items = await Item.select().where(Item.program == program_id)
    by_id = {str(i["id"]): i for i in all_items}
    by_sku = {i["sku"].lower(): i for i in all_items if i["sku"]}
    by_name: dict[str, list[dict]] = {}
    for i in all_items:
        by_name.setdefault(i["name"].strip().lower(), []).append(i)
    totals: dict[int, int] = {}
    items: dict[int, dict] = {}
    for r in rows:
        found = None
        if "item_id" in r:
            found = by_id.get(r["item_id"])
        elif "sku" in r:
            found = by_sku.get(r["sku"].lower())
        else:
            same = by_name.get(r["name"].lower(), [])
            if len(same) > 1:
                problems.append({"line": r["line"], "row": r["row"], "error": _l("More than one item is called {name}; use the SKU.", name=r["name"])})
                continue
            found = same[0] if same else None
        if found is None:
            what = r.get("sku") or r.get("item_id") or r.get("name")
            problems.append({"line": r["line"], "row": r["row"], "error": _l("No item {what} in this programme.", what=what)})
            continue
        items[found["id"]] = found
        totals[found["id"]] = totals.get(found["id"], 0) + r["quantity"]
    if problems:
        problems.sort(key=lambda p: p["line"])
        raise PlannerError(
            _nl("{n} row of the delivery has problems; nothing was received.",
                "{n} rows of the delivery have problems; nothing was received.", len(problems)),
            extra={"problems": problems},
        )
    if not totals:
        raise PlannerError("The delivery has no rows.", extra={"problems": []})
    ref = (ref or "").strip()[:100] or "delivery:" + hashlib.sha256((text or "").encode()).hexdigest()[:16]
    reason = (reason or "").strip()[:500] or "Delivery"
    lines = [(i, location["id"], q) for i, q in sorted(totals.items())]
    async with write_transaction():
        await _lock(Item, list(items))
        if await _repeat_of(program_id, ref, "receive", None):
            out = await _outcome(program_id, ref, "receive", None, repeated=True)
            return out, False
        written = await _apply(program_id, items, {location["id"]: location}, lines, kind="receive", reason=reason, ref=ref,
                               user_id=user["id"] if user else None, now=now)
    return await _written_out(program_id, ref, "receive", written), True


# ---------------------------------------------------------------- reading stock and the ledger

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


# ---------------------------------------------------------------- forecast and pack list

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
