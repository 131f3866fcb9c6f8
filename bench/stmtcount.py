"""Counts the SQL statements one request sends to the database, at the driver.

PostgreSQL: an asyncpg query logger on every connection (pool and transaction connections alike),
so BEGIN and COMMIT count too: each statement is one round trip. SQLite: the sqlite3 trace
callback on every connection, plus how many connections were opened (Piccolo opens one, with its
own thread, for every statement outside a transaction).

`python -m bench.stmtcount` (with PLANNER_DATABASE_URL set to a migrated database) builds a small
programme of its own through the app in process and prints, as JSON, the statements of a first
scan, a rescan, an offline batch, a confirmed and a waitlisted RSVP and the feed. The bench runs
it against each engine's database; tests/test_bench_quick.py uses `counting()` the same way.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

TXN = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)
PRAGMA = re.compile(r"^\s*PRAGMA\b", re.I)
# What asyncpg's pool runs on every connection handed back (Connection.reset()): a round trip of its own.
RESET = re.compile(r"^\s*SELECT pg_advisory_unlock_all\(\)", re.I)
CONTROL = re.compile(TXN.pattern + "|" + PRAGMA.pattern + "|" + RESET.pattern, re.I)


@dataclass
class Tally:
    statements: list[str] = field(default_factory=list)
    connections: int = 0

    @property
    def total(self) -> int:
        return len(self.statements)

    @property
    def control(self) -> int:
        return sum(1 for s in self.statements if CONTROL.match(s))

    @property
    def sql(self) -> int:
        return self.total - self.control

    def collapse(self) -> "Tally":
        """SQLite's trace fires twice for some single executions (an UPDATE with a subquery and RETURNING);
        Piccolo runs a PRAGMA before every statement in a transaction, so a real repeat is never adjacent."""
        out: list[str] = []
        for s in self.statements:
            if not out or s != out[-1] or CONTROL.match(s):
                out.append(s)
        self.statements = out
        return self

    def summary(self) -> dict[str, Any]:
        return {"statements": self.total, "sql": self.sql, "control": self.control, "connections": self.connections,
                "transaction": sum(1 for s in self.statements if TXN.match(s)),
                "pragma": sum(1 for s in self.statements if PRAGMA.match(s)),
                "pool_reset": sum(1 for s in self.statements if RESET.match(s)),
                "log": [" ".join(s.split())[:160] for s in self.statements]}


_lock = threading.Lock()
_current: Tally | None = None
_installed = False
_originals: dict[str, Any] = {}


def _record(query: str) -> None:
    t = _current
    if t is not None:
        with _lock:
            t.statements.append(query)


def install() -> None:
    """Hook both drivers (idempotent). Costs one flag check per statement while nothing is counted."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        import asyncpg.connection

        original_init = asyncpg.connection.Connection.__init__
        _originals["asyncpg"] = original_init

        def init(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            self.add_query_logger(lambda record: _record(record.query))

        asyncpg.connection.Connection.__init__ = init
    except ImportError:
        pass
    original_connect = sqlite3.connect
    _originals["sqlite3"] = original_connect

    def connect(*args, **kwargs):
        conn = original_connect(*args, **kwargs)
        t = _current
        if t is not None:
            with _lock:
                t.connections += 1
        conn.set_trace_callback(_record)
        return conn

    sqlite3.connect = connect


def uninstall() -> None:
    """Put the drivers back (connections opened meanwhile keep their hook, which only counts while counting())."""
    global _installed
    if not _installed:
        return
    if "asyncpg" in _originals:
        import asyncpg.connection

        asyncpg.connection.Connection.__init__ = _originals.pop("asyncpg")
    if "sqlite3" in _originals:
        sqlite3.connect = _originals.pop("sqlite3")
    _installed = False


@contextlib.contextmanager
def counting() -> Iterator[Tally]:
    """Count what runs inside the block. asyncpg calls its loggers on the next loop turn: await settle() before leaving."""
    global _current
    install()
    tally = Tally()
    _current = tally
    try:
        yield tally
    finally:
        _current = None


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def count(call) -> Tally:
    """The statements of one awaited call (a request through an in-process client)."""
    await settle()
    with counting() as tally:
        await call()
        await settle()
    return tally.collapse()


async def measure() -> dict[str, Any]:
    """Builds its own small programme in the configured database and counts each request kind."""
    install()
    import httpx

    from planner.accounts.rules import create_user
    from planner.app import create_app

    app = create_app(run_worker=False)
    for hook in app.on_startup:
        await hook()
    tag = secrets.token_hex(4)
    pw = secrets.token_urlsafe(12)
    out: dict[str, Any] = {}
    try:
        await create_user(f"sc-org-{tag}@bench.example", pw, admin=True)
        await create_user(f"sc-staff-{tag}@bench.example", pw)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local") as c:
            async def post(url, body, token=None, expect=(200, 201)):
                r = await c.post(url, json=body, headers={"Authorization": f"Bearer {token}"} if token else {})
                assert r.status_code in expect, (url, r.status_code, r.text)
                return r.json()

            org = (await post("/api/auth/token", {"email": f"sc-org-{tag}@bench.example", "password": pw}))["token"]
            staff = (await post("/api/auth/token", {"email": f"sc-staff-{tag}@bench.example", "password": pw}))["token"]
            from datetime import datetime, timedelta, timezone

            today = datetime.now(timezone.utc).date()
            p = await post("/api/programs", {"name": "Statement count", "timezone": "UTC", "country": "GB",
                                             "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=5)).isoformat()}, org)
            await post(f"/api/programs/{p['id']}/members", {"email": f"sc-staff-{tag}@bench.example", "role": "staff"}, org)
            sp = await post(f"/api/programs/{p['id']}/spaces", {"name": "Tent", "capacity": 100}, org)
            item = await post(f"/api/programs/{p['id']}/items", {"name": "Earplugs"}, org)
            kit = await post(f"/api/programs/{p['id']}/kits", {"name": "Kit", "items": [{"item_id": item["id"], "quantity": 1}]}, org)
            locs = (await c.get(f"/api/programs/{p['id']}/locations", headers={"Authorization": f"Bearer {org}"})).json()
            loc = next(x["id"] for x in locs if x["space_id"] == sp["id"])
            await post(f"/api/programs/{p['id']}/stock/movements", {"item_id": kit["id"], "quantity": 100, "kind": "receive",
                                                                    "location_id": loc, "reason": "count"}, org)
            start = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=10)
            a = await post(f"/api/programs/{p['id']}/activities", {
                "kind": "activation", "title": "Count", "space_id": sp["id"], "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(), "capacity": 7, "rsvp_mode": "open", "kit_id": kit["id"]}, org)

            def rsvp(i):
                return lambda: post(f"/api/activities/{a['id']}/rsvps", {"name": f"G {i}", "email": f"g{i}-{tag}@bench.example"})

            await rsvp(-1)()  # the first use of a statement on a connection may add a prepare or type lookup
            confirmed = [await count(rsvp(i)) for i in range(3)]
            codes = [r["ticket"]["code"] for r in (await asyncio.gather(*[post(f"/api/activities/{a['id']}/rsvps",
                     {"name": f"H {i}", "email": f"h{i}-{tag}@bench.example"}) for i in range(3)]))]
            waitlisted = [await count(rsvp(100 + i)) for i in range(3)]
            await post("/api/checkins", {"code": "not-a-ticket"}, staff)
            first = [await count(lambda code=code: post("/api/checkins", {"code": code}, staff)) for code in codes]
            again = [await count(lambda code=code: post("/api/checkins", {"code": code}, staff)) for code in codes]
            # An offline batch of 3 admissions (the confirmed RSVPs counted above).
            r3 = await c.get(f"/api/activities/{a['id']}/rsvps?status=confirmed", headers={"Authorization": f"Bearer {org}"})
            left = [x["ticket"]["code"] for x in r3.json() if x["ticket"]["code"] not in codes]
            now = datetime.now(timezone.utc).isoformat()
            scans = [{"code": code, "scan_id": f"sc-{tag}-{i}", "scanned_at": now} for i, code in enumerate(left)]
            batch = await count(lambda: post("/api/checkins/batch", {"scans": scans}, staff))
            feed_url = f"/programs/{p['id']}/calendar.ics"
            feed = await count(lambda: c.get(feed_url))
            r = await c.get(feed_url)
            etag = r.headers.get("etag")
            feed304 = await count(lambda: c.get(feed_url, headers={"If-None-Match": etag or "x"}))

            def pick(tallies: list[Tally]) -> dict[str, Any]:
                s = tallies[-1].summary()
                s["stable"] = len({t.total for t in tallies}) == 1
                s["all"] = [t.total for t in tallies]
                return s

            out = {
                "scan": pick(first), "rescan": pick(again), "rsvp_confirmed": pick(confirmed),
                "rsvp_waitlisted": pick(waitlisted), "batch_of_%d" % len(scans): batch.summary(),
                "feed": feed.summary() if r.status_code == 200 else None,
                "feed_304": feed304.summary() if r.status_code == 200 else None,
            }
    finally:
        for hook in app.on_shutdown:
            await hook()
    return out


def main() -> None:
    print(json.dumps(asyncio.run(measure())))


if __name__ == "__main__":
    main()
