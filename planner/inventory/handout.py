"""The kit hand-out: the one way a kit leaves a shelf for a person (a scan, a walk-in, a manual hand-out).

Inside the caller's write transaction: takes `quantity` off one shelf with a conditional
decrement (never below zero), writes the "hand_out" ledger line, and applies the one
low-stock rule (`levels.crossed_low`). The shelf of a space is its oldest location
(`SHELF`), the same words the one-statement scan uses, so both paths take from the same row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from planner.db import raw
from planner.i18n import _l
from planner.inventory.levels import after_taking, is_low, lock, total
from planner.inventory.tables import Item

# A space's own shelf: its oldest location. `{space}` is an SQL expression for the space id.
SHELF = "(SELECT l.id FROM location l WHERE l.space = {space} ORDER BY l.id LIMIT 1)"
NO_KIT_LEFT = _l("No kit left: tell the wellness lead.")

_TAKE = "UPDATE stock_level SET on_hand = on_hand - {} WHERE item = {} AND on_hand >= {} AND location = "
_LEDGER = (
    "INSERT INTO stock_movement (program, item, location, quantity, kind, reason, ref, \"user\", created_at) "
    "VALUES ({}, {}, {}, {}, 'hand_out', {}, {}, {}, {}) RETURNING id"
)


@dataclass(frozen=True)
class HandOut:
    """What a hand-out did: `location_id` None when the shelf had too few (nothing was written)."""

    item_id: int
    quantity: int
    location_id: int | None = None
    on_hand: int | None = None
    movement_id: int | None = None

    @property
    def handed_out(self) -> bool:
        return self.location_id is not None


async def hand_out(*, item_id: int, quantity: int, program_id: int, low_stock_at: int, ref: str, user_id: int | None,
                   now: datetime, space_id: int | None = None, location_id: int | None = None, reason: str = "") -> HandOut:
    """Hand out `quantity` of an item from a space's shelf (`space_id`) or a given location (`location_id`).

    Call inside a write transaction. On PostgreSQL the item's row is locked first, as every
    movement does (item, then levels: no deadlock), so the low-stock crossing is judged exactly.
    """
    if (space_id is None) == (location_id is None):
        raise ValueError("hand_out needs a space_id or a location_id")
    await lock(Item, [item_id])
    where = SHELF.format(space="{}") if location_id is None else "{}"
    taken = await raw(_TAKE + where + " RETURNING location, on_hand", quantity, item_id, quantity,
                      space_id if location_id is None else location_id)
    if not taken:
        return HandOut(item_id=item_id, quantity=quantity)
    location, left = taken[0]["location"], int(taken[0]["on_hand"])
    line = await raw(_LEDGER, program_id, item_id, location, -quantity, reason, ref[:100], user_id, now)
    if is_low(left, low_stock_at):
        # Only then can the item's total have crossed its line: the total is at least this shelf.
        after = await total(item_id)
        await after_taking(item_id, before=after + quantity, taken=quantity, line=low_stock_at, now=now)
    return HandOut(item_id=item_id, quantity=quantity, location_id=location, on_hand=left, movement_id=line[0]["id"])
