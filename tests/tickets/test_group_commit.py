"""Group commit (PostgreSQL): scans arriving together share one transaction and one commit, and correctness
never depends on it: a group that fails as a whole runs again write by write, a caller's own error stays its
own, and a caller hears of its write only once it is committed."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import asyncpg
import pytest

from planner import db
from planner.accounts.tables import User as UserTable
from planner.groupcommit import GroupCommit
from planner.inventory.tables import Location, StockLevel, StockMovement
from planner.rsvps import booking
from planner.rsvps.tables import Rsvp
from planner.tickets import rules
from planner.tickets.decide import GRACE_AFTER_END
from planner.tickets.tables import Checkin
from tests.conftest import ENGINE
from tests.tickets.test_scan_kits import kit_tickets, staff_api

pytestmark = pytest.mark.skipif(ENGINE != "postgres", reason="group commit is PostgreSQL's (SQLite has one writer)")


async def test_concurrent_scans_are_grouped_and_stock_stays_exact(api, setup, client):
    a, kit, shelf, tickets, staff = await kit_tickets(api, setup, client, kits=25, guests=40)
    groups, writes = rules.SCANS.groups, rules.SCANS.writes
    # Every ticket scanned twice at the same moment (two gates): one admits, one is amber.
    answers = await asyncio.gather(*[staff.post("/api/checkins", {"code": c}) for c in tickets for _ in (0, 1)])
    assert rules.SCANS.groups > groups and rules.SCANS.writes - writes > rules.SCANS.groups - groups, "no scans were grouped"
    by_code: dict[str, list[str]] = {}
    for code, r in zip([c for c in tickets for _ in (0, 1)], answers):
        assert r.status_code == 200, r.text
        by_code.setdefault(code, []).append(r.json()["result"])
    assert all(sorted(v) == ["admitted", "already_checked_in"] for v in by_code.values()), by_code
    assert await Checkin.count().where(Checkin.slot.is_in([s["id"] for s in a["slots"]])) == 40
    kits = [r.json()["kit"]["handed_out"] for r in answers if r.json()["result"] == "admitted"]
    assert kits.count(True) == 25 and kits.count(False) == 15
    level = await StockLevel.select(StockLevel.on_hand).where((StockLevel.item == kit["id"]) & (StockLevel.location == shelf["id"])).first()
    assert level["on_hand"] == 0
    assert await StockMovement.count().where((StockMovement.item == kit["id"]) & (StockMovement.kind == "hand_out")) == 25
    assert await Checkin.count().where(Checkin.kit == "none_left") == 15


@pytest.fixture
async def probe_table(client):  # the client runs the app's startup: the pool, in this test's event loop
    await db.raw("CREATE TABLE gc_probe (n integer PRIMARY KEY)")
    yield db.engine().pool
    await db.raw("DROP TABLE gc_probe")


async def test_a_failed_group_runs_again_write_by_write(probe_table):
    pool = probe_table
    group: GroupCommit[int] = GroupCommit("probe")
    seen_after_commit: list[bool] = []

    def writer(n: int, *, poison: bool = False, refuse: bool = False):
        async def write(conn):
            if refuse:
                raise ValueError(f"write {n} refused before writing")
            if poison and conn.is_in_transaction():
                await conn.execute("SELECT 1 / 0")  # fails the shared transaction, not the write alone
            await conn.execute("INSERT INTO gc_probe (n) VALUES ($1)", n)

            async def after():
                async with pool.acquire() as other:  # another connection sees it: the commit came first
                    seen_after_commit.append(await other.fetchval("SELECT count(*) FROM gc_probe WHERE n = $1", n) == 1)
            return n, after
        return write

    results = await asyncio.gather(*[group.run(writer(n, poison=(n == 5), refuse=(n == 7)), pool) for n in range(10)],
                                   return_exceptions=True)
    assert group.replayed == 1
    assert isinstance(results[7], ValueError)
    assert [r for i, r in enumerate(results) if i != 7] == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    rows = [r["n"] for r in await db.raw("SELECT n FROM gc_probe ORDER BY n")]
    assert rows == [0, 1, 2, 3, 4, 5, 6, 8, 9]  # each once: nothing of the failed group was kept
    assert seen_after_commit == [True] * 9

    # A group without failure: one commit for all, each caller its own answer.
    results = await asyncio.gather(*[group.run(writer(n, refuse=(n == 12)), pool) for n in range(10, 15)], return_exceptions=True)
    assert group.groups == 1 and group.writes == 5
    assert results[:2] + results[3:] == [10, 11, 13, 14] and isinstance(results[2], ValueError)
    # A database error of a write alone is its caller's answer.
    with pytest.raises(asyncpg.UniqueViolationError):
        await group.run(writer(10), pool)


async def test_concurrent_rsvps_are_grouped_first_come_first_served_and_repeats_answered(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, capacity=10)
    groups = booking.RSVPS.groups

    async def wave(emails: list[str]) -> list:
        return await asyncio.gather(*[client.post(f"/api/activities/{a['id']}/rsvps", json={"name": e.split("@")[0], "email": e})
                                      for e in emails])

    first = await wave([f"g{i}@example.org" for i in range(40)])
    assert booking.RSVPS.groups > groups, "no RSVPs were grouped"
    # New guests and three repeats at the same moment: a group holding a repeat runs again RSVP by RSVP.
    emails = [f"g{i}@example.org" for i in range(40, 60)] + [f"g{i}@example.org" for i in (3, 17, 39)]
    second = await wave(emails)
    assert all(r.status_code == 201 for r in first + second[:20]), [r.text for r in first + second[:20] if r.status_code != 201][:2]
    assert all(r.status_code == 202 and r.json()["status"] == "check_email" for r in second[20:]), [r.text for r in second[20:]]
    placed = [r.json() for r in first + second[:20]]
    assert [p["status"] for p in placed].count("confirmed") == 10
    assert sorted(p["waitlist_position"] for p in placed if p["status"] == "waitlisted") == list(range(1, 51))
    assert await Rsvp.count().where(Rsvp.activity == a["id"]) == 60


async def test_two_processes_groups_across_two_shelves_do_not_deadlock(api, setup, client):
    """Two processes' groups (two GroupCommits here) scanning tickets of two tents in opposite orders: without the
    shelves locked first in id order and the scans sorted, each holds one shelf and waits for the other's (a
    deadlock PostgreSQL breaks only after a second, and one group runs again alone)."""
    pid = setup["program"]["id"]
    await staff_api(api, client, pid)  # a staff member, whose scans these are
    codes: dict[str, list[str]] = {}
    for tent in ("North tent", "South tent"):
        space = (await api.post(f"/api/programs/{pid}/spaces", {"name": tent, "capacity": 50}, expect=201)).json()
        kit = (await api.post(f"/api/programs/{pid}/items", {"name": f"Kit {tent}"}, expect=201)).json()
        shelf = await Location.select(Location.id).where(Location.space == space["id"]).first()
        await api.post(f"/api/programs/{pid}/stock/movements", {"item_id": kit["id"], "quantity": 10, "kind": "receive", "location_id": shelf["id"]}, expect=201)
        a = await api.activity(pid, space["id"], capacity=10, kit_id=kit["id"])
        codes[tent] = [(await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"{tent} {i}", "email": f"{tent[0]}{i}@example.org"})).json()["ticket"]["code"]
                       for i in range(2)]
    user = await UserTable.select(UserTable.id).where(UserTable.email == "staff@example.org").first()
    now = datetime.now(timezone.utc)
    pool = db.engine().pool

    def write(code: str):
        async def w(conn):
            scan = rules.parse_scan({"code": code}, now=now)
            return await rules._scan_statement(conn, scan, user={"id": user["id"]}, token_hash=None, device="gate",
                                               now=now, grace=GRACE_AFTER_END)
        return w

    north, south = codes["North tent"], codes["South tent"]
    one, two = (GroupCommit("scan-1", before=rules._lock_shelves), GroupCommit("scan-2", before=rules._lock_shelves))
    t0 = time.perf_counter()
    results = await asyncio.gather(
        *[one.run(write(c), pool, key=c) for c in (north[0], south[0])],
        *[two.run(write(c), pool, key=c) for c in (south[1], north[1])],
    )
    took = time.perf_counter() - t0
    assert [r["result"] for r in results] == ["admitted"] * 4
    assert one.replayed == two.replayed == 0 and took < 0.9, f"a deadlock was broken by PostgreSQL ({took:.2f} s)"
    assert one.groups == two.groups == 1
