"""`python -m bench`: every scenario of issue 8, on each engine, against the ceilings, in one run.

For each engine: a fresh database (PostgreSQL: CREATE DATABASE bench_<random> on 127.0.0.1:5432,
dropped at the end; SQLite: a file in a temp folder), `planner serve` and the two ceilings started
as subprocesses, a programme seeded through the HTTP API, then the scenarios, each followed by its
correctness check. Exit status 1 when any correctness check fails; timings never fail the run.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench import report
from bench.load import PhaseResult, Req, closed_loop
from bench.seed import ADMIN, FULL, QUICK, STAFF, Seeded, Sizes, new_password, seed
from bench.servers import REPO, Server, base_env, ceiling_server, planner_cli, planner_server

HOST = "127.0.0.1"


@dataclass
class Mode:
    quick: bool
    sizes: Sizes
    scan_caps: dict[int, tuple[int, float]]  # concurrency -> (requests, seconds), per worker count
    rescans: tuple[int, float]
    rush: tuple[int, float]
    warmup: int
    feed_repeats: int
    qr_codes: int
    ceiling_codes: int


FULL_MODE = Mode(False, FULL, {1: (600, 8.0), 8: (1800, 8.0), 32: (1800, 8.0)}, (2000, 8.0), (5000, 45.0), 100, 20, 200, 20000)
QUICK_MODE = Mode(True, QUICK, {1: (20, 3.0), 8: (40, 3.0), 32: (40, 3.0)}, (50, 3.0), (40, 10.0), 10, 3, 10, 500)


@dataclass
class Row:
    scenario: str
    engine: str
    workers: int | None = None
    concurrency: int | None = None
    requests: int | None = None
    seconds: float | None = None
    rps: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    ratio: float | None = None
    correctness: str = "OK"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, scenario: str, engine: str, r: PhaseResult, workers: int | None, **kw) -> "Row":
        return cls(scenario, engine, workers, r.concurrency, r.done, round(r.seconds, 3), round(r.rps, 1),
                   round(r.pct(50), 2), round(r.pct(95), 2), round(r.pct(99), 2), **kw)

    @property
    def ok(self) -> bool:
        return not self.correctness.startswith("FAIL")


def log(msg: str) -> None:
    print(msg, flush=True)


def fail(reason: str) -> str:
    return f"FAIL: {reason}"


# ---------------------------------------------------------------- the database, seen directly for the checks

class Db:
    def __init__(self, engine: str, url: str):
        self.engine, self.url = engine, url
        self.conn: Any = None

    async def open(self) -> "Db":
        if self.engine == "postgres":
            import asyncpg

            self.conn = await asyncpg.connect(self.url)
        else:
            self.conn = sqlite3.connect(self.url.split("sqlite:///", 1)[1], timeout=30)
        return self

    async def rows(self, sql: str, *args: Any) -> list[tuple]:
        if self.engine == "postgres":
            sql = sql.format(*[f"${i + 1}" for i in range(len(args))])
            return [tuple(r) for r in await self.conn.fetch(sql, *args)]
        sql = sql.format(*["?"] * len(args))
        return self.conn.execute(sql, args).fetchall()

    async def value(self, sql: str, *args: Any) -> Any:
        rows = await self.rows(sql, *args)
        return rows[0][0] if rows else None

    async def execute(self, sql: str) -> None:
        if self.engine == "postgres":
            await self.conn.execute(sql)
        else:
            self.conn.executescript(sql)
            self.conn.commit()

    async def close(self) -> None:
        if self.conn is not None:
            if self.engine == "postgres":
                await self.conn.close()
            else:
                self.conn.close()


async def pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def make_ceiling_table(db: Db, n: int) -> None:
    if db.engine == "postgres":
        await db.execute(
            "CREATE TABLE bench_ceiling (id SERIAL PRIMARY KEY, code VARCHAR(64) NOT NULL UNIQUE, used_at TIMESTAMPTZ NULL);"
            f"INSERT INTO bench_ceiling (code) SELECT 'c' || g FROM generate_series(1, {n}) g;"
            "ANALYZE bench_ceiling;"
        )
    else:
        await db.execute(
            "CREATE TABLE bench_ceiling (id INTEGER PRIMARY KEY, code VARCHAR(64) NOT NULL UNIQUE, used_at TIMESTAMPTZ NULL);"
            f"WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {n}) "
            "INSERT INTO bench_ceiling (code) SELECT 'c' || x FROM g;"
        )


# ---------------------------------------------------------------- one engine

class EngineRun:
    def __init__(self, engine: str, mode: Mode, args: argparse.Namespace):
        self.engine, self.mode, self.args = engine, mode, args
        self.rows: list[Row] = []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
        self.servers: list[Server] = []
        self.ceiling_next = 1
        self.ceilings: dict[tuple[int, int], PhaseResult] = {}  # (workers, concurrency) -> ceiling (b)
        self.scan_rps: dict[tuple[int, int], float] = {}
        self.facts: dict[str, Any] = {}
        self.stmt: dict[str, Any] | None = None
        self.db_name = f"bench_{uuid.uuid4().hex[:10]}"
        self.profiles: dict[str, str] = {}
        self.sampler: Any = None  # an asyncpg connection sampling pg_stat_activity (PostgreSQL)

    # -- plumbing

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        log(report.line(row))
        return row

    async def start(self, server: Server) -> Server:
        self.servers.append(server)
        return await server.start()

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.servers:
            self.servers.remove(server)

    def scan_req(self, code: str, token: str, **extra: Any) -> Req:
        return Req("POST", "/api/checkins", json.dumps({"code": code, **extra}).encode(),
                   (("Authorization", f"Bearer {token}"), ("X-Device", "bench-gate")))

    async def phase(self, port: int, reqs: list[Req], concurrency: int, seconds: float, warm: list[Req] | None = None) -> PhaseResult:
        if warm:
            await closed_loop(HOST, port, warm, concurrency=concurrency, max_seconds=10, keep_answers=False, client=self.args.client)
        stop = asyncio.Event()
        waits: Counter = Counter()
        sampler = asyncio.create_task(self.sample_waits(stop, waits)) if self.sampler is not None else None
        r = await closed_loop(HOST, port, reqs, concurrency=concurrency, max_seconds=seconds, client=self.args.client)
        if sampler is not None:
            stop.set()
            await sampler
        r.waits = waits  # type: ignore[attr-defined]
        return r

    async def paired(self, tracks: list[tuple[int, list[Req]]], c: int, secs: float, warm: list[list[Req]] | None = None,
                     rounds: int = 3) -> list[PhaseResult]:
        """The tracks (a ceiling and the scenario under test) in alternating slices of their requests and time caps,
        so that a change in the machine's background load falls on all of them alike."""
        results = [PhaseResult(concurrency=c, planned=len(reqs), answers=[None] * len(reqs)) for _, reqs in tracks]
        for agg in results:
            agg.waits = Counter()  # type: ignore[attr-defined]
        for k in range(rounds):
            for i, ((port, reqs), agg) in enumerate(zip(tracks, results)):
                lo, hi = len(reqs) * k // rounds, len(reqs) * (k + 1) // rounds
                r = await self.phase(port, reqs[lo:hi], c, secs / rounds, warm[i] if (warm and k == 0) else None)
                agg.latencies += r.latencies
                agg.answers[lo:hi] = r.answers
                agg.statuses.update(r.statuses)
                agg.errors += r.errors
                agg.seconds += r.seconds
                if r.stopped_by == "time":
                    agg.stopped_by = "time"
                agg.waits.update(getattr(r, "waits", Counter()))  # type: ignore[attr-defined]
        return results

    async def sample_waits(self, stop: asyncio.Event, waits: Counter) -> None:
        """PostgreSQL: what the bench database's busy backends are doing, sampled every 10 ms during a phase."""
        q = ("SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity "
             "WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active'")
        while not stop.is_set():
            for (w,) in await self.sampler.fetch(q, self.db_name):
                waits[w] += 1
            waits["_samples"] += 1
            try:
                await asyncio.wait_for(stop.wait(), 0.01)
            except asyncio.TimeoutError:
                pass

    def waits_note(self, r: PhaseResult) -> str:
        waits: Counter = getattr(r, "waits", Counter())
        samples = waits.pop("_samples", 0)
        busy = sum(waits.values())
        if not samples or not busy:
            return ""
        top = ", ".join(f"{k} {v / busy:.0%}" for k, v in waits.most_common(3))
        return f"db: {busy / samples:.1f} busy backends ({top})"

    def ratio(self, r: PhaseResult, workers: int, c: int) -> float | None:
        ceil = self.ceilings.get((workers, c))
        return round(r.rps / ceil.rps, 3) if ceil and ceil.rps else None

    def ceiling_reqs(self, n: int) -> list[Req]:
        codes = [f"c{self.ceiling_next + i}" for i in range(n)]
        self.ceiling_next += n
        return [self.scan_req(code, "ceiling") for code in codes]

    def add_ceilings(self, ra: PhaseResult | None, rb: PhaseResult, workers: int) -> None:
        bad = [a for a in rb.answers if a is not None and (a.status != 200 or a.json().get("result") != "admitted")]
        if ra is not None:
            self.add(Row.of("ceiling (a) bare Litestar", self.engine, ra, workers, ratio=round(ra.rps / rb.rps, 2) if rb.rps else None,
                            correctness="OK" if ra.statuses.get(200) == ra.done and not ra.errors else fail(f"{ra.statuses} {ra.errors[:2]}")))
        self.add(Row.of("ceiling (b) Litestar+Piccolo", self.engine, rb, workers, ratio=1.0,
                        correctness=fail(f"{len(bad)} not admitted {rb.errors[:2]}") if bad or rb.errors else "OK",
                        note=self.waits_note(rb)))

    async def scans(self, server: Server, bare: Server, picc: Server, s: Seeded, workers: int, c: int,
                    tickets: list[str]) -> list[str]:
        """First scans of `tickets`, paired with both ceilings; returns the tickets that were not sent (time caps)."""
        n, secs = self.mode.scan_caps[c]
        batch, rest = tickets[:n], tickets[n:]
        warm_c = [self.scan_req(f"warm-{i}", "ceiling") for i in range(self.mode.warmup)]
        warm_s = [self.scan_req(f"not-a-ticket-{i}", s.staff_token) for i in range(self.mode.warmup)]
        prof = self.maybe_profile(server, f"scan-w{workers}-c{c}") if (c == 8 and workers == 1) else None
        ra, rb, r = await self.paired([(bare.port, [self.scan_req(f"x{i}", "ceiling") for i in range(n)]),
                                       (picc.port, self.ceiling_reqs(n)),
                                       (server.port, [self.scan_req(code, s.staff_token) for code in batch])],
                                      c, secs, [warm_c, warm_c, warm_s])
        if prof:
            self.end_profile(prof)
        self.ceilings[(workers, c)] = rb
        self.add_ceilings(ra, rb, workers)
        unsent = [code for code, a in zip(batch, r.answers) if a is None]
        results = [a.json().get("result") if a.status == 200 else f"HTTP {a.status}" for a in r.answers if a is not None]
        wrong = [x for x in results if x != "admitted"]
        ok = "OK" if not wrong and not r.errors else fail(f"{len(wrong)} not admitted ({sorted(set(wrong))[:3]}) {r.errors[:2]}")
        self.scan_rps[(workers, c)] = r.rps
        self.admitted += len(results) - len(wrong)
        self.add(Row.of("scan: first scan", self.engine, r, workers, ratio=self.ratio(r, workers, c), correctness=ok,
                        note=join_notes(f"stopped by {r.stopped_by}" if r.stopped_by == "time" else "", self.waits_note(r))))
        return unsent + rest

    async def one_tent(self, server: Server, s: Seeded, tent: list[str]) -> list[str]:
        """Eight scanners at one tent: every admission takes a kit from the same shelf (one stock row)."""
        n, secs = self.mode.scan_caps[8]
        batch, rest = tent[:n], tent[n:]
        r = await self.phase(server.port, [self.scan_req(code, s.staff_token) for code in batch], 8, secs,
                             [self.scan_req(f"not-a-ticket-{i}", s.staff_token) for i in range(self.mode.warmup)])
        results = [a.json().get("result") if a.status == 200 else f"HTTP {a.status}" for a in r.answers if a is not None]
        wrong = [x for x in results if x != "admitted"]
        self.admitted += len(results) - len(wrong)
        self.add(Row.of("scan: first scan, one tent", self.engine, r, 1, ratio=self.ratio(r, 1, 8),
                        correctness="OK" if not wrong and not r.errors else fail(f"{len(wrong)} not admitted {r.errors[:2]}"),
                        note=join_notes("all at one kit shelf", self.waits_note(r))))
        return [code for code, a in zip(batch, r.answers) if a is None] + rest

    async def rescans(self, server: Server, s: Seeded, admitted: list[str]) -> None:
        n, secs = self.mode.rescans
        codes = [admitted[i % len(admitted)] for i in range(n)]
        r = await self.phase(server.port, [self.scan_req(code, s.staff_token) for code in codes], 8, secs)
        results = [a.json().get("result") if a.status == 200 else f"HTTP {a.status}" for a in r.answers if a is not None]
        wrong = [x for x in results if x != "already_checked_in"]
        self.add(Row.of("scan: rescan (amber)", self.engine, r, 1, ratio=self.ratio(r, 1, 8),
                        correctness="OK" if not wrong and not r.errors else fail(f"{len(wrong)} not already_checked_in: {sorted(set(wrong))[:3]}"),
                        note=self.waits_note(r)))

    async def race(self, server: Server, s: Seeded, workers: int, tickets: list[str]) -> None:
        """Tickets the timed phases left: 1,000 of them each scanned twice at the same moment by two scanners
        (one admits, one is amber), the rest once, so that every ticket has been admitted by the end."""
        if not tickets:
            return
        twice, once = tickets[:1000], tickets[1000:]
        codes = [c for c in twice for _ in (0, 1)] + once
        r = await self.phase(server.port, [self.scan_req(code, s.staff_token) for code in codes], 32, 300)
        per: dict[str, list[str]] = {}
        for code, a in zip(codes, r.answers):
            per.setdefault(code, []).append(a.json().get("result") if a is not None and a.status == 200 else f"HTTP {a and a.status}")
        want = {c: ["admitted", "already_checked_in"] for c in twice} | {c: ["admitted"] for c in once}
        bad = {c: v for c, v in per.items() if sorted(v) != want[c]}
        self.admitted += sum(v.count("admitted") for v in per.values())
        self.add(Row.of("scan: same ticket x2 at once", self.engine, r, workers,
                        correctness="OK" if not bad and not r.errors else fail(f"{len(bad)} tickets: {list(bad.items())[:2]}"),
                        note=f"correctness only: {len(twice)} tickets twice, then {len(once)} left by the time caps once"))

    async def batch(self, server: Server, s: Seeded, db: Db) -> None:
        now = datetime.now(timezone.utc)
        scans = [{"code": code, "scan_id": f"offline-{uuid.uuid4().hex}",
                  "scanned_at": (now - timedelta(seconds=random.randint(60, 3600))).isoformat()} for code in s.batch_tickets]
        body = json.dumps({"scans": scans, "device": "bench-offline"}).encode()
        req = Req("POST", "/api/checkins/batch", body, (("Authorization", f"Bearer {s.staff_token}"),))
        for label, expect_new in (("offline batch", True), ("offline batch, same again", False)):
            r = await closed_loop(HOST, server.port, [req], concurrency=1, max_seconds=120, client=self.args.client)
            a = r.answers[0]
            if a is None or a.status != 200:
                ok = fail(f"HTTP {a and a.status}: {a and a.body[:200]!r} {r.errors[:1]}")
            else:
                res = a.json()["results"]
                if expect_new:
                    wrong = [x for x in res if x.get("result") != "admitted" or x.get("replay")]
                else:
                    wrong = [x for x in res if not (x.get("result") == "admitted" and x.get("replay"))]
                n = await db.value("SELECT count(*) FROM checkin c JOIN rsvp r ON r.id = c.rsvp WHERE r.activity = {}", s.batch_activity)
                ok = "OK"
                if len(res) != len(scans) or wrong:
                    ok = fail(f"{len(wrong)} of {len(res)} results wrong, e.g. {wrong[:1]}")
                elif n != len(scans):
                    ok = fail(f"{n} check-in rows for {len(scans)} tickets")
            self.add(Row.of(f"{label} ({len(scans)} scans)", self.engine, r, 1, correctness=ok,
                            note=f"{len(scans) / r.seconds:,.0f} scans/s" if r.seconds else ""))

    async def feed(self, server: Server, s: Seeded) -> None:
        path = f"/programs/{s.feed_program}/calendar.ics"
        cold = await closed_loop(HOST, server.port, [Req("GET", path)], concurrency=1, max_seconds=60, client=self.args.client)
        a = cold.answers[0]
        name = f"feed ({s.feed_activities} activities)"
        if a is None or a.status == 404:
            self.add(Row(name, self.engine, correctness="n/a (feed not built yet)"))
            return
        events = a.body.count(b"BEGIN:VEVENT")
        ok = "OK" if a.status == 200 and events == s.feed_activities else fail(f"HTTP {a.status}, {events} events")
        self.add(Row.of(f"{name}: cold", self.engine, cold, 1, correctness=ok,
                        note=f"{len(a.body) / 1024:,.0f} KB, {len(gzip.compress(a.body)) / 1024:,.0f} KB gz"))
        warm = await closed_loop(HOST, server.port, [Req("GET", path)] * self.mode.feed_repeats, concurrency=1, max_seconds=60,
                                 client=self.args.client)
        bad = [x for x in warm.answers if x is None or x.status != 200 or x.body != a.body]
        self.add(Row.of(f"{name}: rebuilt", self.engine, warm, 1,
                        correctness="OK" if not bad else fail(f"{len(bad)} answers differ from the first")))
        etag = a.headers.get("etag")
        if not etag:
            self.add(Row(f"{name}: If-None-Match", self.engine, correctness=fail("no ETag on the feed")))
            return
        cond = Req("GET", path, None, (("If-None-Match", etag),))
        r = await closed_loop(HOST, server.port, [cond] * (self.mode.feed_repeats * 3), concurrency=1, max_seconds=60,
                              client=self.args.client)
        bad = [x for x in r.answers if x is None or x.status != 304 or x.body]
        self.add(Row.of(f"{name}: If-None-Match 304", self.engine, r, 1,
                        correctness="OK" if not bad else fail(f"{len(bad)} not an empty 304"),
                        note=f"{statistics.median(warm.latencies) / statistics.median(r.latencies):.0f}x faster than a rebuild"))

    async def pack(self, server: Server, s: Seeded) -> None:
        name = f"scanner pack ({len(s.tickets)} tickets)"
        auth = (("Authorization", f"Bearer {s.staff_token}"),)
        req = Req("GET", f"/api/scanner/pack?program_id={s.gate_program}&day={s.day}", None, auth)
        r = await closed_loop(HOST, server.port, [req], concurrency=1, max_seconds=60, client=self.args.client)
        a = r.answers[0]
        if a is None or a.status in (404, 405):
            self.add(Row(name, self.engine, correctness="n/a (pack not built yet)",
                         note=f"GET /api/scanner/pack answered {a and a.status}"))
            return
        parts = [a]
        if a.status != 200:
            # Only per activity: the pack of every gate activity, summed.
            parts = []
            for act in s.gate_activities:
                one = await closed_loop(HOST, server.port, [Req("GET", f"/api/scanner/pack?activity_id={act}", None, auth)],
                                        concurrency=1, max_seconds=60, client=self.args.client)
                parts.append(one.answers[0])
                r.latencies += one.latencies
        bad = [p for p in parts if p is None or p.status != 200]
        if bad:
            self.add(Row(name, self.engine, correctness=fail(f"HTTP {bad[0] and bad[0].status}: {bad[0] and bad[0].body[:200]!r}")))
            return
        raw = sum(len(p.body) for p in parts)
        gz = sum(len(gzip.compress(p.body, 6)) for p in parts)
        again = await closed_loop(HOST, server.port, [req] * 5, concurrency=1, max_seconds=60, client=self.args.client)
        if len(parts) == 1:
            r.latencies += again.latencies
        entries = _count_entries(parts, len(s.tickets))
        ok = "OK" if entries in (None, len(s.tickets)) else fail(f"{entries} entries for {len(s.tickets)} tickets")
        row = Row.of(name, self.engine, r, 1, correctness=ok + (" (entries not counted: unknown format)" if entries is None else ""),
                     note=f"{raw / 1024:,.0f} KB raw, {gz / 1024:,.0f} KB gzipped" + ("" if len(parts) == 1 else f", {len(parts)} activity packs"))
        row.extra = {"raw_bytes": raw, "gzip_bytes": gz, "packs": len(parts)}
        self.add(row)

    async def rush(self, server: Server, picc: Server, s: Seeded, db: Db) -> None:
        n, secs = self.mode.rush
        seats = self.mode.sizes.rush_seats
        reqs = [Req("POST", f"/api/activities/{s.rush_activity}/rsvps",
                    json.dumps({"name": f"Rush guest {i}", "email": f"rush-{i}@bench.example"}).encode()) for i in range(n)]
        prof = self.maybe_profile(server, "rush")
        rb, r = await self.paired([(picc.port, self.ceiling_reqs(n)), (server.port, reqs)], 32, secs)
        if prof:
            self.end_profile(prof)
        self.add(Row.of("ceiling (b), paired with the rush", self.engine, rb, 1, ratio=1.0,
                        correctness="OK" if rb.statuses.get(200) == rb.done and not rb.errors else fail(f"{rb.statuses} {rb.errors[:2]}"),
                        note=self.waits_note(rb)))
        outs = [a.json() for a in r.answers if a is not None and a.status == 201]
        sent = sum(1 for a in r.answers if a is not None)
        confirmed = sum(1 for o in outs if o["status"] == "confirmed")
        positions = sorted(o.get("waitlist_position") or 0 for o in outs if o["status"] == "waitlisted")
        problems = []
        if len(outs) != sent or r.errors:
            problems.append(f"{sent - len(outs)} answers not 201 {r.errors[:2]}")
        if confirmed != min(seats, sent):
            problems.append(f"{confirmed} confirmed for {seats} seats")
        if positions != list(range(1, sent - seats + 1)):
            dup = len(positions) - len(set(positions))
            problems.append(f"waitlist positions not 1..{sent - seats} ({dup} repeated, max {positions[-1] if positions else None})")
        rows = dict(await db.rows("SELECT status, count(*) FROM rsvp WHERE activity = {} GROUP BY status", s.rush_activity))
        counters = await db.rows("SELECT confirmed, waiting FROM slot WHERE id = {}", s.rush_slot)
        seqs = await db.value("SELECT count(DISTINCT queue_seq) FROM rsvp WHERE activity = {} AND status = 'waitlisted'", s.rush_activity)
        if rows.get("confirmed") != min(seats, sent) or rows.get("waitlisted", 0) != max(0, sent - seats):
            problems.append(f"database holds {rows}")
        if counters and tuple(counters[0]) != (rows.get("confirmed", 0), rows.get("waitlisted", 0)):
            problems.append(f"slot counters {tuple(counters[0])} differ from the rows")
        if seqs != rows.get("waitlisted", 0):
            problems.append(f"{seqs} distinct queue numbers for {rows.get('waitlisted', 0)} waitlisted")
        self.add(Row.of(f"RSVP rush ({n} on {seats} seats)", self.engine, r, 1, ratio=round(r.rps / rb.rps, 3) if rb.rps else None,
                        correctness="OK" if not problems else fail("; ".join(problems)),
                        note=join_notes(f"{confirmed} confirmed, waitlist 1..{positions[-1] if positions else 0}", self.waits_note(r))))

    def qr(self) -> None:
        from planner.tickets import qr
        from planner.tokens import new_code

        codes = [new_code() for _ in range(self.mode.qr_codes)]
        for fmt, fn, magic in (("PNG", qr.qr_png, b"\x89PNG"), ("SVG", qr.qr_svg, b"<svg")):
            lat, outs = [], []
            t0 = time.perf_counter()
            for code in codes:
                t = time.perf_counter()
                outs.append(fn(code))
                lat.append(time.perf_counter() - t)
            total = time.perf_counter() - t0
            r = PhaseResult(concurrency=1, planned=len(codes), latencies=lat, seconds=total)
            bad = [o for o in outs if magic not in o[:200]]
            ok = "OK" if not bad else fail(f"{len(bad)} not {fmt}")
            if fmt == "PNG" and not bad:
                ok = _decode_check(outs[:5], codes[:5]) or ok
            self.add(Row.of(f"ticket QR {fmt} render", "-", r, None, correctness=ok,
                            note=f"{statistics.mean(len(o) for o in outs) / 1024:.1f} KB each, in process"))

    def maybe_profile(self, server: Server, name: str) -> subprocess.Popen | None:
        if not self.args.profile:
            return None
        out = Path(self.args.profile)
        out.mkdir(parents=True, exist_ok=True)
        pid = server.worker_pids()[0]
        base = out / f"{self.engine}-{name}"
        self.profiles[name] = str(base)
        return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
                                 "-o", f"{base}.txt", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def end_profile(self, proc: subprocess.Popen) -> None:
        import signal

        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

    async def rss(self, server: Server, workers: int) -> None:
        mb = server.worker_rss_mb()
        self.add(Row("worker resident memory", self.engine, workers, correctness="OK",
                     note=", ".join(f"{m:.0f} MB" for m in mb) + f" ({'one worker' if len(mb) == 1 else 'each worker'})",
                     extra={"rss_mb": [round(m, 1) for m in mb]}))

    async def final_checks(self, db: Db, s: Seeded, expected: int) -> None:
        problems = []
        total, distinct = (await db.rows(
            "SELECT count(*), count(DISTINCT rsvp) FROM checkin WHERE program = {}", s.gate_program))[0]
        if total != expected or distinct != expected or self.admitted != expected:
            problems.append(f"{total} check-in rows ({distinct} tickets), {self.admitted} admitted answers, for {expected} tickets")
        on_hand = await db.value("SELECT sum(on_hand) FROM stock_level WHERE item = {}", s.gate_kit)
        moves, handed = (await db.rows(
            "SELECT count(*), coalesce(-sum(quantity), 0) FROM stock_movement WHERE item = {} AND kind = 'hand_out'", s.gate_kit))[0]
        kit_rows = await db.value("SELECT count(*) FROM checkin WHERE program = {} AND kit = 'handed_out'", s.gate_program)
        if on_hand != s.kits_received - expected or handed != expected or moves != expected or kit_rows != expected:
            problems.append(f"stock {on_hand} (expected {s.kits_received - expected}), {moves} hand-out lines of {handed}, "
                            f"{kit_rows} check-ins with a kit")
        self.add(Row("every ticket admitted once, stock exact (database)", self.engine, correctness="OK" if not problems else fail("; ".join(problems)),
                     note=f"{total} check-ins, {moves} kit hand-outs, {on_hand} kits left"))

    # -- the whole engine

    async def run(self) -> None:
        args, mode = self.args, self.mode
        if self.engine == "postgres":
            base = args.pg_admin.rsplit("/", 1)[0]
            url = f"{base}/{self.db_name}"
            await pg_admin(args.pg_admin, f'CREATE DATABASE "{self.db_name}"')
            for setting in args.pg_set:
                # An experiment, reported with the results: e.g. synchronous_commit=off.
                name, _, value = setting.partition("=")
                await pg_admin(args.pg_admin, f'ALTER DATABASE "{self.db_name}" SET {name} = {value}')
            self.facts["pg_settings"] = list(args.pg_set)
        else:
            url = f"sqlite:///{self.tmp}/planner.db"
        self.url = url
        admin_pw, staff_pw = new_password(), new_password()
        env = base_env({"PLANNER_DATABASE_URL": url, "PLANNER_SECRET_KEY": secrets.token_urlsafe(32),
                        "PLANNER_SECRET_FILE": str(self.tmp / ".planner-secret")})
        cenv = base_env({"BENCH_CEILING_DB": url})
        db = None
        try:
            log(f"== {self.engine}: {url}")
            planner_cli(["user", "add", ADMIN, "--password-stdin", "--admin"], env=env, tmp=self.tmp, stdin=admin_pw + "\n")
            planner_cli(["user", "add", STAFF, "--password-stdin"], env=env, tmp=self.tmp, stdin=staff_pw + "\n")
            db = await Db(self.engine, url).open()
            if self.engine == "postgres" and not mode.quick:
                import asyncpg

                self.sampler = await asyncpg.connect(args.pg_admin)
            await make_ceiling_table(db, mode.ceiling_codes)
            server = await self.start(planner_server(workers=1, env=env, tmp=self.tmp, tag=self.engine))
            t0 = time.perf_counter()
            s = await seed(server.port, sizes=mode.sizes, admin_password=admin_pw, staff_password=staff_pw, log=log)
            settled = await self.settle_outbox(db)
            log(f"  seeded in {time.perf_counter() - t0:.1f} s ({settled} queued mails set aside)")
            self.facts["seed_seconds"] = round(time.perf_counter() - t0, 1)
            self.admitted = 0

            only = args.only
            if not only:
                await self.pack(server, s)
            # The last tent's tickets for the one-tent phase; the rest, interleaved, for the others.
            tent = s.codes_by_activity[s.gate_activities[-1]]
            tent_set = set(tent)
            tickets = [t for t in s.tickets if t not in tent_set]
            admitted: list[str] = []
            bare = await self.start(ceiling_server("bare", workers=1, env=cenv, tmp=self.tmp))
            picc = await self.start(ceiling_server("piccolo", workers=1, env=cenv, tmp=self.tmp))
            for c in ((8,) if only else (1, 8, 32)):
                before = tickets
                if only and "scan" not in only:
                    break  # the rush pairs with its own ceiling
                tickets = await self.scans(server, bare, picc, s, 1, c, tickets)
                left = set(tickets)
                admitted += [t for t in before if t not in left]
            if only:
                if "scan" in only:
                    await self.one_tent(server, s, tent)
                if "rush" in only:
                    await self.rush(server, picc, s, db)
                return
            tickets += await self.one_tent(server, s, tent)
            await self.rescans(server, s, admitted)
            await self.batch(server, s, db)
            await self.feed(server, s)
            await self.rush(server, picc, s, db)
            await self.rss(server, 1)
            await self.settle_outbox(db)
            for x in (bare, picc, server):
                self.stop(x)

            server = await self.start(planner_server(workers=2, env=env, tmp=self.tmp, tag=self.engine))
            bare = await self.start(ceiling_server("bare", workers=2, env=cenv, tmp=self.tmp))
            picc = await self.start(ceiling_server("piccolo", workers=2, env=cenv, tmp=self.tmp))
            for c in (1, 8, 32):
                tickets = await self.scans(server, bare, picc, s, 2, c, tickets)
            await self.race(server, s, 2, tickets)
            await self.rss(server, 2)
            for x in (bare, picc, server):
                self.stop(x)
            await self.final_checks(db, s, len(s.tickets))
            self.stmt = self.statement_counts(env)
            self.facts.update(await self.engine_facts(db))
        finally:
            for x in list(self.servers):
                x.stop()
            if db is not None:
                await db.close()
            if self.sampler is not None:
                await self.sampler.close()
            if self.engine == "postgres":
                try:
                    await pg_admin(args.pg_admin, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                except Exception as exc:  # noqa: BLE001
                    log(f"  could not drop {self.db_name}: {exc}")
            if not args.keep:
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                log(f"  logs and files kept in {self.tmp}")

    async def settle_outbox(self, db: Db) -> int:
        """Mark the mails already queued as handled, so that the outbox worker does not render thousands of
        seeding confirmations during the timed phases that follow (the addresses are fake; no mail is lost
        that anyone would miss). Mail queued *during* a phase is handled by the worker as in production."""
        n = await db.value("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL")
        now = datetime.now(timezone.utc)
        if self.engine == "postgres":
            await db.conn.execute("UPDATE outbox_message SET sent_at = $1, last_error = 'bench: not sent' WHERE sent_at IS NULL", now)
        else:
            db.conn.execute("UPDATE outbox_message SET sent_at = ?, last_error = 'bench: not sent' WHERE sent_at IS NULL",
                            (now.isoformat(sep=" "),))
            db.conn.commit()
        return n or 0

    def statement_counts(self, env: dict[str, str]) -> dict[str, Any] | None:
        r = subprocess.run([sys.executable, "-m", "bench.stmtcount"], env=env, cwd=self.tmp, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            self.add(Row("statements per request", self.engine, correctness=fail(f"count failed: {r.stderr[-500:]}")))
            return None
        out = json.loads(r.stdout.strip().splitlines()[-1])
        for key, label in (("scan", "scan"), ("rescan", "rescan"), ("rsvp_confirmed", "RSVP (confirmed)"),
                           ("rsvp_waitlisted", "RSVP (waitlisted)"), ("feed_304", "feed 304")):
            v = out.get(key)
            if v:
                self.add(Row(f"statements per {label}", self.engine, correctness="OK", note=stmt_note(self.engine, v)))
        return out

    async def engine_facts(self, db: Db) -> dict[str, Any]:
        if self.engine == "postgres":
            return {"engine_version": await db.value("SELECT version()")}
        return {"engine_version": f"SQLite {sqlite3.sqlite_version}"}


def join_notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def stmt_note(engine: str, v: dict[str, Any]) -> str:
    parts = [f"{v['sql']} SQL"]
    for key, label in (("transaction", "BEGIN/COMMIT"), ("pool_reset", "pool resets"), ("pragma", "PRAGMA")):
        if v.get(key):
            parts.append(f"{v[key]} {label}")
    out = f"{v['statements']} {'round trips' if engine == 'postgres' else 'statements'}: " + " + ".join(parts)
    if engine == "sqlite":
        out += f"; {v['connections']} connections opened"
    if not v.get("stable", True):
        out += f" (varied: {v.get('all')})"
    return out


def _count_entries(parts: list, tickets: int) -> int | None:
    """Entries in a JSON pack: the longest list in it (of tickets or of their hashes), summed over the packs."""
    total = 0
    for p in parts:
        try:
            doc = json.loads(p.body)
        except ValueError:
            return None
        best = 0
        stack = [doc]
        while stack:
            x = stack.pop()
            if isinstance(x, list):
                best = max(best, len(x))
                stack.extend(v for v in x[:1] if isinstance(v, (list, dict)))
            elif isinstance(x, dict):
                best = max(best, len(x)) if len(x) > 50 else best
                stack.extend(v for v in x.values() if isinstance(v, (list, dict)))
        total += best
    return total or None


def _decode_check(pngs: list[bytes], codes: list[str]) -> str | None:
    try:
        import io

        import zxingcpp
        from PIL import Image
    except ImportError:
        return None
    for png, code in zip(pngs, codes):
        found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
        if found != [code]:
            return fail(f"QR decodes to {found}, not the ticket code")
    return None


def machine_facts() -> dict[str, Any]:
    import importlib.metadata as md
    import platform

    def ver(p: str) -> str | None:
        try:
            return md.version(p)
        except md.PackageNotFoundError:
            return None

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "planner"], cwd=REPO, capture_output=True, text=True).stdout.strip())
    import psutil

    return {
        "cores": os.cpu_count(), "physical_cores": psutil.cpu_count(logical=False), "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(), "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version, "litestar": ver("litestar"), "piccolo": ver("piccolo"), "uvicorn": ver("uvicorn"),
        "uvloop": ver("uvloop"), "httptools": ver("httptools"), "asyncpg": ver("asyncpg"), "aiosqlite": ver("aiosqlite"),
        "msgspec": ver("msgspec"), "git_commit": commit, "planner_tree_dirty": dirty,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small counts, a few seconds per engine: correctness only (CI)")
    p.add_argument("--engines", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    p.add_argument("--pg-admin", default=os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"),
                   help="PostgreSQL URL allowed to CREATE DATABASE (the bench's own database is made beside it)")
    p.add_argument("--client", choices=("raw", "httpx"), default="raw", help="the load generator's HTTP client")
    p.add_argument("--save", action=argparse.BooleanOptionalAction, default=None,
                   help="write bench/results/, the README table and the plot (default: on for a full run, off for --quick)")
    p.add_argument("--profile", metavar="DIR", help="py-spy the worker during the scan (1 worker, c=8) and the RSVP rush")
    p.add_argument("--keep", action="store_true", help="keep the temp folder with the server logs")
    p.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                   help="an experiment: ALTER DATABASE ... SET NAME = VALUE on the bench database (e.g. synchronous_commit=off)")
    p.add_argument("--only", default="", metavar="SCENARIOS",
                   help="an experiment: only these of scan, rush (one worker; no 2-worker phase, no final checks, nothing saved)")
    a = p.parse_args(argv)
    a.only = {x.strip() for x in a.only.split(",") if x.strip()}
    if a.only - {"scan", "rush"}:
        p.error("--only takes scan and/or rush")
    if a.only:
        a.save = False
    a.engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    for e in a.engines:
        if e not in ("sqlite", "postgres"):
            p.error(f"unknown engine {e!r}")
    if a.save is None:
        a.save = not a.quick
    return a


async def amain(args: argparse.Namespace) -> int:
    mode = QUICK_MODE if args.quick else FULL_MODE
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    facts = machine_facts()
    log(f"bench: {'quick' if args.quick else 'full'} run on {facts['cores']} cores, load {facts['load_average_at_start']}, "
        f"engines {', '.join(args.engines)}")
    runs: list[EngineRun] = []
    qr_rows: list[Row] = []
    for i, engine in enumerate(args.engines):
        run = EngineRun(engine, mode, args)
        runs.append(run)
        try:
            await run.run()
        except Exception as exc:  # noqa: BLE001 - one engine's crash is a failure, the other still runs
            import traceback

            traceback.print_exc()
            run.rows.append(Row("bench run", engine, correctness=fail(f"{type(exc).__name__}: {exc}"[:300])))
        if i == 0:
            holder = EngineRun("-", mode, args)
            holder.qr()
            qr_rows = holder.rows
            shutil.rmtree(holder.tmp, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    rows = [r for run in runs for r in run.rows] + qr_rows
    print()
    print(report.table(rows))
    print()
    summary = report.targets(runs, rows)
    for line in summary:
        print(line)
    print(f"\nwhole run: {elapsed:.0f} s")
    if args.save:
        paths = report.save(runs, rows, facts, started, elapsed, args, summary)
        for p in paths:
            print(f"wrote {p}")
    failed = [r for r in rows if not r.ok]
    if failed:
        print(f"\n{len(failed)} correctness check(s) FAILED:")
        for r in failed:
            print(f"  {r.scenario} [{r.engine}]: {r.correctness}")
        return 1
    print("\nall correctness checks passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(amain(parse_args(argv)))
