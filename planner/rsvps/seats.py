"""Seats: an RSVP's status, and what each change of status does to its slot's counters.

A slot keeps two counters beside its RSVP rows: `confirmed` (people holding a seat, plus-ones included)
and `waiting` (RSVPs on the waitlist). Every writer that changes an RSVP's status, party or slot works
out the counters' change with `transition()` and writes it with `apply()`: the arithmetic lives here
only. `counters_match_rows()` checks the counters against the rows (the tests run it after each test).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from planner.db import raw
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot


class Status(StrEnum):
    INVITED = "invited"
    APPLIED = "applied"
    OFFERED = "offered"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    DECLINED = "declined"


ACTIVE = (Status.INVITED, Status.APPLIED, Status.OFFERED, Status.CONFIRMED, Status.WAITLISTED)
# An offer holds its seat until it is accepted or expires.
HOLDS_SEAT = (Status.CONFIRMED, Status.OFFERED)


@dataclass(frozen=True)
class Change:
    """How much a slot's counters move."""
    confirmed: int = 0
    waiting: int = 0

    def __add__(self, other: Change) -> Change:
        return Change(self.confirmed + other.confirmed, self.waiting + other.waiting)

    def __bool__(self) -> bool:
        return bool(self.confirmed or self.waiting)


def _held(status: str | None, party: int) -> Change:
    if status in HOLDS_SEAT:
        return Change(confirmed=party)
    if status == Status.WAITLISTED:
        return Change(waiting=1)
    return Change()


def transition(old: str | None, new: str | None, *, party: int, new_party: int | None = None) -> Change:
    """The counters' change when an RSVP of `party` people (1 + plus-ones) goes from `old` to `new`
    status on one slot; None means not on the slot (before it is made, after it leaves). `new_party`
    when the party itself changes."""
    before = _held(old, party)
    after = _held(new, party if new_party is None else new_party)
    return Change(after.confirmed - before.confirmed, after.waiting - before.waiting)


def fits(slot: dict, party: int) -> bool:
    """Whether a party gets a seat on a slot read with its capacity and confirmed count."""
    return slot["confirmed"] + party <= slot["capacity"]


def place(slot: dict, party: int, *, by_application: bool) -> tuple[Status, int | None, int | None]:
    """Where a new (or returning) party goes on a slot read with its counters under the lock: an application,
    a seat while one is free, else the end of the waitlist. Returns (status, queue number, waitlist position)."""
    if by_application:
        return Status.APPLIED, None, None
    if fits(slot, party):
        return Status.CONFIRMED, None, None
    return Status.WAITLISTED, slot["queue_seq"] + 1, slot["waiting"] + 1


async def apply(slot_id: int, change: Change, *, queue_seq: int | None = None) -> None:
    """Write a change to a slot's counters (and its last waitlist number); inside the write transaction
    that changes the RSVP rows, with the slot locked."""
    values: dict = {}
    if change.confirmed:
        values[Slot.confirmed] = Slot.confirmed + change.confirmed if change.confirmed > 0 else Slot.confirmed - (-change.confirmed)
    if change.waiting:
        values[Slot.waiting] = Slot.waiting + change.waiting if change.waiting > 0 else Slot.waiting - (-change.waiting)
    if queue_seq is not None:
        values[Slot.queue_seq] = queue_seq
    if values:
        await Slot.update(values).where(Slot.id == slot_id)


async def counters_match_rows(slot_id: int) -> bool:
    """True when the slot's counters equal what its RSVP rows say."""
    s = await Slot.select(Slot.confirmed, Slot.waiting).where(Slot.id == slot_id).first()
    rows = await Rsvp.select(Rsvp.status, Rsvp.guests).where(Rsvp.slot == slot_id)
    total = Change()
    for r in rows:
        total = total + transition(None, r["status"], party=1 + r["guests"])
    return (s["confirmed"], s["waiting"]) == (total.confirmed, total.waiting)


async def mismatched_slots() -> list[dict]:
    """Every slot whose counters differ from its RSVP rows, in one statement (empty when all agree).
    Walk-ins hold seats through confirmed RSVPs too, so they are counted the same way."""
    held = ", ".join(f"'{s.value}'" for s in HOLDS_SEAT)
    return await raw(
        "SELECT s.id, s.confirmed, s.waiting, "
        f"COALESCE(SUM(CASE WHEN r.status IN ({held}) THEN 1 + r.guests ELSE 0 END), 0) AS rows_confirmed, "
        "COALESCE(SUM(CASE WHEN r.status = 'waitlisted' THEN 1 ELSE 0 END), 0) AS rows_waiting "
        "FROM slot s LEFT JOIN rsvp r ON r.slot = s.id GROUP BY s.id, s.confirmed, s.waiting "
        f"HAVING s.confirmed <> COALESCE(SUM(CASE WHEN r.status IN ({held}) THEN 1 + r.guests ELSE 0 END), 0) "
        "OR s.waiting <> COALESCE(SUM(CASE WHEN r.status = 'waitlisted' THEN 1 ELSE 0 END), 0)"
    )
