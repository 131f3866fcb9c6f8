"""Seats: the pure transition rule, and the two RSVP paths (PostgreSQL's one statement and the general
one) giving the same answers on the same input."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from planner.db import free_pool, is_postgres, write_transaction
from planner.rsvps import booking
from planner.rsvps.seats import Change, Status, counters_match_rows, transition
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot

NOW = datetime(2027, 6, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("old, new, party, new_party, expected", [
    (None, Status.CONFIRMED, 3, None, Change(confirmed=3)),
    (None, Status.WAITLISTED, 3, None, Change(waiting=1)),
    (None, Status.APPLIED, 2, None, Change()),
    (Status.CONFIRMED, None, 2, None, Change(confirmed=-2)),
    (Status.WAITLISTED, Status.CONFIRMED, 2, None, Change(confirmed=2, waiting=-1)),
    (Status.WAITLISTED, Status.OFFERED, 1, None, Change(confirmed=1, waiting=-1)),
    (Status.OFFERED, Status.CONFIRMED, 4, None, Change()),  # the offer already held the seat
    (Status.OFFERED, Status.DECLINED, 4, None, Change(confirmed=-4)),
    (Status.APPLIED, Status.WAITLISTED, 1, None, Change(waiting=1)),
    (Status.CONFIRMED, Status.CONFIRMED, 2, 4, Change(confirmed=2)),  # two more plus-ones
    (Status.WAITLISTED, Status.WAITLISTED, 2, 4, Change()),
    (Status.CANCELLED, Status.CONFIRMED, 1, None, Change(confirmed=1)),
])
def test_transition(old, new, party, new_party, expected):
    assert transition(old, new, party=party, new_party=new_party) == expected


def test_every_way_round_and_back_cancels_out():
    statuses = [None, *Status]
    for a in statuses:
        for b in statuses:
            there = transition(a, b, party=3)
            back = transition(b, a, party=3)
            assert there + back == Change(), (a, b)


PARTIES = [1, 2, 1, 3, 1, 1, 2]  # on 5 seats: 1, 2, 1 fit (4), 3 waits, 1 fits (5), the rest wait


async def _rush(activity_id: int) -> list[tuple]:
    out = []
    for i, party in enumerate(PARTIES):
        r, _ = await booking.create_rsvp(activity_id, {"name": f"Guest {i}", "email": f"g{i}-{activity_id}@example.org",
                                                     "guests": party - 1}, now=NOW)
        out.append((r["status"], r.get("waitlist_position")))
    return out


async def test_both_rsvp_paths_agree(api, setup):
    """On PostgreSQL an RSVP outside a transaction takes the one-statement path; inside one it takes the
    general path (the pool cannot see the enclosing transaction's rows). Same input, same answers."""
    made = [await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=5, max_guests=3, published=True,
                               title=f"Breath {n}", starts_at=f"2027-07-0{2 + n}T10:00", ends_at=f"2027-07-0{2 + n}T11:00")
            for n in range(2)]
    fast = await _rush(made[0]["id"])
    async with write_transaction():
        general = await _rush(made[1]["id"])
    assert fast == general
    assert [s for s, _ in fast] == ["confirmed", "confirmed", "confirmed", "waitlisted", "confirmed", "waitlisted", "waitlisted"]
    slots = [await Slot.select().where(Slot.activity == m["id"]).first() for m in made]
    assert [(s["confirmed"], s["waiting"]) for s in slots] == [(5, 3), (5, 3)]
    for s in slots:
        assert await counters_match_rows(s["id"])
    # Both paths count the first message as the RSVP's first change (the invite's SEQUENCE rises from there).
    seqs = [sorted(r["sequence"] for r in await Rsvp.select(Rsvp.sequence).where(Rsvp.activity == m["id"])) for m in made]
    assert seqs[0] == seqs[1] == [1] * len(PARTIES)
    orders = [[r["name"] for r in await Rsvp.select(Rsvp.name).where((Rsvp.activity == m["id"]) & (Rsvp.status == "waitlisted"))
               .order_by(Rsvp.queue_seq)] for m in made]
    assert orders[0] == orders[1] == ["Guest 3", "Guest 5", "Guest 6"]
    if is_postgres():
        assert free_pool() is not None  # the first rush really could take the one-statement path
