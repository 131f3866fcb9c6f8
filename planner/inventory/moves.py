"""Stock movements: receiving, moving, adjusting, assembling and handing out, each a ledger line, never below zero;
a delivery imported from a CSV."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from planner.db import write_transaction
from planner.errors import PlannerError
from planner.fields import csv_rows
from planner.i18n import _l, _nl
from planner.inventory.handout import hand_out
from planner.inventory.items import _components, _item_in, _text, _whole
from planner.inventory.ledger import _movement_out, _names
from planner.inventory.levels import add as _add
from planner.inventory.levels import alert_low_stock, crossed_low, is_low
from planner.inventory.levels import lock as _lock
from planner.inventory.levels import on_hand as _on_hand
from planner.inventory.levels import take as _take
from planner.inventory.levels import total as _total
from planner.inventory.places import _location_in, _program
from planner.inventory.tables import Item, StockMovement
from planner.programs.rules import require_role
from planner.terms import Term

# Kinds a person may post; "hand_out" from the API is a manual hand-out (a walk-in without a ticket).
API_KINDS = ("receive", "transfer", "adjust", "assemble", "return", "hand_out")
INCREASES = ("receive", "return")
MAX_CSV_ROWS = 5000



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
