"""Stock levels inside a write transaction: locks, totals, conditional takes and adds, and the
one low-stock rule with its alert.

Every function here runs inside the caller's `write_transaction()`. Decrements are
conditional (`... WHERE on_hand >= q RETURNING on_hand`), never read-then-write, so stock
cannot go below zero.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from planner.db import is_postgres, raw
from planner.i18n import _l, _nl, format_number, program_default
from planner.inventory.tables import Item, StockLevel
from planner.outbox.rules import enqueue
from planner.programs.tables import Membership, Program
from planner.settings import get_settings
from planner.terms import Count, Term

# ---------------------------------------------------------------- the low-stock rule

def is_low(total: int, line: int) -> bool:
    """An item is low when its total on hand, across every location, is at or below its alert line."""
    return total <= (line or 0)


def crossed_low(before: int, after: int, line: int) -> bool:
    """A movement that took an item's total from `before` to `after` crossed its line: it was not low, now it is.

    The one rule every taker applies (the manual movements, the kit hand-out, the one-statement scan)."""
    return not is_low(before, line) and is_low(after, line)


async def alert_low_stock(item: dict, after: int, *, now: datetime) -> None:
    """One email per organizer of the item's programme: `item` has just crossed its line, `after` is left."""
    program_id = item["program"]
    p = await Program.select(Program.name, Program.languages).where(Program.id == program_id).first()
    organizers = await Membership.select(Membership.user.email).where(
        (Membership.program == program_id) & (Membership.role == "organizer")
    )
    link = f"{get_settings().base_url}/programs/{program_id}/stock"
    where = await StockLevel.select(StockLevel.on_hand, StockLevel.location.name).where(
        (StockLevel.item == item["id"]) & (StockLevel.on_hand > 0)
    ).order_by(StockLevel.location.name)
    # Accounts keep no language of their own: the alert speaks the programme's default.
    lang = program_default(p["languages"])
    spread = ", ".join(f"{Term(w['location.name']).render(lang)} {format_number(w['on_hand'], lang)}" for w in where)
    subject = _nl("Low stock: {item} ({n} left) · {programme}", "Low stock: {item} ({n} left) · {programme}", after,
                  item=item["name"], programme=p["name"]).render(lang)
    body = "\n\n".join([
        _l("{item} is down to {count} across all locations of {programme} (the alert is set at {line}).",
           item=item["name"], count=Count(after, item["unit"]), programme=p["name"],
           line=Count(item["low_stock_at"] or 0, item["unit"])).render(lang),
        (_l("Where it is: {places}.", places=spread) if spread else _l("There is none left anywhere.")).render(lang),
        _l("Order or move more before the next hand-outs: {url}", url=link).render(lang),
    ]) + "\n"
    for o in organizers:
        await enqueue(kind="low_stock", to=o["user.email"], now=now, subject=subject, body_text=body,
                      context={"item_id": item["id"], "on_hand": after, "language": lang})


async def after_taking(item_id: int, *, before: int, taken: int, line: int, now: datetime) -> bool:
    """Apply the low-stock rule to a take of `taken` from a total of `before`; alert on a crossing.

    True when it crossed. Reads the item only then, so a take that crosses nothing costs nothing."""
    after = before - taken
    if not crossed_low(before, after, line):
        return False
    item = await Item.select().where(Item.id == item_id).first()
    if item:
        await alert_low_stock(item, after, now=now)
    return True


# ---------------------------------------------------------------- ledger primitives

async def lock(table: Any, ids: list[int]) -> None:
    """Row locks on PostgreSQL, in id order. NO KEY UPDATE: rows that merely reference
    these (a new movement, an activity's kit) are not blocked by it."""
    if ids and is_postgres():
        await table.select(table.id).where(table.id.is_in(sorted(set(ids)))).order_by(table.id).lock_rows("NO KEY UPDATE")


async def total(item_id: int) -> int:
    rows = await raw("SELECT COALESCE(SUM(on_hand), 0) AS n FROM stock_level WHERE item = {}", item_id)
    return int(rows[0]["n"] or 0)


async def add(program_id: int, item_id: int, location_id: int, quantity: int) -> int:
    # Create the level row if missing without racing a concurrent creator, then add.
    await raw(
        "INSERT INTO stock_level (program, item, location, on_hand) VALUES ({}, {}, {}, 0) "
        "ON CONFLICT (item, location) DO NOTHING",
        program_id, item_id, location_id,
    )
    rows = await raw(
        "UPDATE stock_level SET on_hand = on_hand + {} WHERE item = {} AND location = {} RETURNING on_hand",
        quantity, item_id, location_id,
    )
    return int(rows[0]["on_hand"])


async def take(item_id: int, location_id: int, quantity: int) -> int | None:
    """Take stock away only if there is enough; the new level, or None (nothing changed)."""
    rows = await raw(
        "UPDATE stock_level SET on_hand = on_hand - {} WHERE item = {} AND location = {} AND on_hand >= {} "
        "RETURNING on_hand",
        quantity, item_id, location_id, quantity,
    )
    return int(rows[0]["on_hand"]) if rows else None


async def on_hand(item_id: int, location_id: int) -> int:
    row = await StockLevel.select(StockLevel.on_hand).where(
        (StockLevel.item == item_id) & (StockLevel.location == location_id)
    ).first()
    return row["on_hand"] if row else 0
