"""Statements per request on the hot paths, counted at the driver (bench/stmtcount.py), on the engine under test.

No N+1: a scan, a rescan and an RSVP send the same statements whether the activity holds 2 or 25
RSVPs, and no more than a handful. Counts, never timings. BEGIN/COMMIT, asyncpg's pool reset and
Piccolo's per-statement PRAGMA on SQLite are reported by the bench and left out of the bounds here.
"""
from __future__ import annotations

import pytest

from bench.stmtcount import count, install, uninstall


@pytest.fixture(autouse=True, scope="module")
def driver_hooks():
    # Before the app's pool opens its connections (the client fixture); put back for the other modules.
    install()
    yield
    uninstall()

# The RSVP also counts its client for the throttle (one conditional INSERT) since the trust work,
# and reads the programme's default language when the request names none (one SELECT).
MAX_SQL = {"scan": 7, "rescan": 7, "rsvp": 7}


async def _kit_activity(api, setup, capacity: int) -> dict:
    p, s = setup["program"]["id"], setup["space"]["id"]
    item = (await api.post(f"/api/programs/{p}/items", {"name": "Earplugs"}, expect=201)).json()
    kit = (await api.post(f"/api/programs/{p}/kits", {"name": "Gate kit", "items": [{"item_id": item["id"], "quantity": 1}]},
                          expect=201)).json()
    locs = (await api.get(f"/api/programs/{p}/locations", expect=200)).json()
    loc = next(x["id"] for x in locs if x["space_id"] == s)
    await api.post(f"/api/programs/{p}/stock/movements",
                   {"item_id": kit["id"], "quantity": 100, "kind": "receive", "location_id": loc, "reason": "test"}, expect=201)
    return await api.activity(p, s, capacity=capacity, kit_id=kit["id"])


async def _rsvp(api, activity_id: int, i: int) -> dict:
    r = await api.client.post(f"/api/activities/{activity_id}/rsvps", json={"name": f"Guest {i}", "email": f"g{i}@example.org"})
    assert r.status_code == 201, r.text
    return r.json()


async def test_scan_statements_do_not_grow_with_tickets(api, setup):
    a = await _kit_activity(api, setup, capacity=30)
    codes = [(await _rsvp(api, a["id"], i))["ticket"]["code"] for i in range(25)]
    await api.post("/api/checkins", {"code": "not-a-ticket"}, expect=200)  # first use of each statement

    def scan(code):
        return lambda: api.post("/api/checkins", {"code": code}, expect=200)

    first = [await count(scan(codes[0])), await count(scan(codes[24]))]
    again = [await count(scan(codes[0])), await count(scan(codes[24]))]
    assert first[0].sql >= 1, "the driver hooks counted nothing"
    assert first[0].total == first[1].total
    assert again[0].total == again[1].total
    assert first[0].sql <= MAX_SQL["scan"], first[0].summary()["log"]
    assert again[0].sql <= MAX_SQL["rescan"], again[0].summary()["log"]
    stock = (await api.get(f"/api/programs/{setup['program']['id']}/stock", expect=200)).json()
    assert sum(x["on_hand"] for x in stock) == 98


async def test_rsvp_statements_do_not_grow_with_the_waitlist(api, setup):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3)
    await _rsvp(api, a["id"], 0)
    counted = {}
    for i in range(1, 26):
        tally = await count(lambda i=i: _rsvp(api, a["id"], i))
        if i in (2, 5, 25):
            counted[i] = tally
    assert counted[2].sql >= 1, "the driver hooks counted nothing"
    assert counted[2].total == counted[5].total == counted[25].total
    assert counted[25].sql <= MAX_SQL["rsvp"], counted[25].summary()["log"]
    line = (await api.get(f"/api/activities/{a['id']}/rsvps?status=waitlisted", expect=200)).json()
    assert [r["waitlist_position"] for r in line] == list(range(1, 24))
