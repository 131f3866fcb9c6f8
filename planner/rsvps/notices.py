"""Messages about an RSVP: written to the outbox, each raising the RSVP's sequence.

Every message is a change the guest hears of, and the invite's SEQUENCE (the activity's plus the
RSVP's) must rise with each.
"""
from __future__ import annotations

from typing import Any

from planner.outbox.rules import message_row
from planner.outbox.tables import OutboxMessage
from planner.rsvps.tables import Rsvp


async def enqueue(**kwargs: Any) -> None:
    """Write one message; a message about an RSVP raises its sequence. Call inside the causing transaction."""
    row = message_row(**kwargs)
    await OutboxMessage.insert(row)
    if row.rsvp is not None:
        await Rsvp.update({Rsvp.sequence: Rsvp.sequence + 1}).where(Rsvp.id == row.rsvp)


async def enqueue_many(rows: list[OutboxMessage]) -> None:
    """Write several messages from `message_row` at once, raising each RSVP's sequence."""
    if not rows:
        return
    await OutboxMessage.insert(*rows)
    ids = [row.rsvp for row in rows if row.rsvp is not None]
    if ids:
        await Rsvp.update({Rsvp.sequence: Rsvp.sequence + 1}).where(Rsvp.id.is_in(ids))
