"""Bench scenario: the impact report of a 10,000-guest programme, on each engine.

    python -m bench.impact_report                      # both engines, 10,000 guests
    python -m bench.impact_report --engines sqlite --guests 2000 --quick

For each engine, in a child process over a fresh database: the programme's structure is made through
the HTTP API in process (spaces, 40 activations of 3 slots with a kit, 5 residencies, 5 dinners, stock);
then the guests' history is written in bulk SQL, as the scan and RSVP paths would have left it:
10,000 guests, each with one to three RSVPs (about 18,000), confirmed up to the seats and waitlisted
beyond, about 85% of the confirmed admitted (a kit each at activations, with its ledger line), walk-ins,
cancellations and erased guests. Then, through the app in process (httpx over ASGI, no network):

* `GET /api/programs/{id}/report` and `?shareable=true`, the report page, the PDF and the CSV, timed
  after one warm-up each (p50 and max of N);
* the SQL statements of one report request at 200 guests and at the full size, counted at the driver
  (bench/stmtcount.py): they must be equal;
* the report's numbers checked against counts made from the seeding plan.

Exits 1 when a check fails, never because of a timing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


# ---------------------------------------------------------------- child: one engine

async def _seed_structure(api, client) -> dict:
    p = (await api("POST", "/api/programs", {"name": "Bench festival", "timezone": "Europe/London", "country": "GB",
                                              "starts_on": "2027-06-01", "ends_on": "2027-06-05", "languages": ["en", "es"]}))
    pid = p["id"]
    spaces = [await api("POST", f"/api/programs/{pid}/spaces", {"name": f"Tent {i}", "capacity": 200}) for i in range(8)]
    plugs = await api("POST", f"/api/programs/{pid}/items", {"name": "Earplugs"})
    tea = await api("POST", f"/api/programs/{pid}/items", {"name": "Tea"})
    kit = await api("POST", f"/api/programs/{pid}/kits", {"name": "Calm kit", "items": [
        {"item_id": plugs["id"], "quantity": 2}, {"item_id": tea["id"], "quantity": 1}]})
    activities = []
    for i in range(40):
        day, space = i % 5, spaces[i % 8]
        start = datetime(2027, 6, day + 1, 9 + (i // 8) * 2)
        # Three 30-minute slots of 100 seats each.
        slots = [{"starts_at": (start + timedelta(minutes=40 * k)).strftime("%Y-%m-%dT%H:%M"),
                  "ends_at": (start + timedelta(minutes=40 * k + 30)).strftime("%Y-%m-%dT%H:%M"), "capacity": 100} for k in range(3)]
        body = {"kind": "activation", "title": f"Activation {i}", "space_id": space["id"], "starts_at": slots[0]["starts_at"],
                "ends_at": slots[-1]["ends_at"], "capacity": 100, "rsvp_mode": "open", "kit_id": kit["id"], "max_guests": 1,
                "slots": slots}
        activities.append(await api("POST", f"/api/programs/{pid}/activities", body))
    for i in range(5):
        activities.append(await api("POST", f"/api/programs/{pid}/activities", {
            "kind": "residency", "title": f"Residency {i}", "space_id": spaces[i]["id"], "starts_at": "2027-06-02T08:00",
            "ends_at": "2027-06-04T08:45", "capacity": 20, "rsvp_mode": "apply"}))
    for i in range(5):
        activities.append(await api("POST", f"/api/programs/{pid}/activities", {
            "kind": "dinner", "title": f"Dinner {i}", "space_id": spaces[i]["id"], "starts_at": f"2027-06-0{i + 1}T20:00",
            "ends_at": f"2027-06-0{i + 1}T22:00", "capacity": 30, "rsvp_mode": "invite", "max_guests": 1}))
    return {"program": p, "activities": activities, "kit": kit, "items": (plugs, tea)}


async def _bulk(sql_head: str, rows: list[tuple], width: int) -> list[dict]:
    from planner import db

    out: list[dict] = []
    for i in range(0, len(rows), 400):
        chunk = rows[i:i + 400]
        values = ", ".join("(" + ", ".join(["{}"] * width) + ")" for _ in chunk)
        out += await db.raw(sql_head.replace("VALUES ?", "VALUES " + values), *[x for r in chunk for x in r])
    return out


async def _seed_guests(s: dict, guests: int, seed: int = 7) -> dict:
    """RSVPs, waitlists, check-ins with kits, walk-ins and erased guests, written as the app writes them.
    Returns the counts the report must show, made from this plan."""
    from planner import db

    rnd = random.Random(seed)
    pid = s["program"]["id"]
    now = datetime(2027, 6, 6, tzinfo=UTC)
    # Each activity's slots and seats.
    slots = {}
    for a in s["activities"]:
        slots[a["id"]] = [(x["id"], x["capacity"]) for x in a["slots"]]
    taken = {sid: 0 for a in s["activities"] for sid, _ in slots[a["id"]]}
    by_kind = {a["id"]: a["kind"] for a in s["activities"]}
    cap = {a["id"]: a["capacity"] for a in s["activities"]}
    rsvps: list[tuple] = []
    plan: list[dict] = []
    acts = [a["id"] for a in s["activities"]]
    weights = [40 if by_kind[a] == "activation" else 6 for a in acts]
    for g in range(guests):
        email = f"guest{g}@bench.example"
        lang = "es" if g % 7 == 0 else "en"
        for aid in set(rnd.choices(acts, weights=weights, k=rnd.choice((1, 1, 2, 2, 3)))):
            kind = by_kind[aid]
            sid = slots[aid][0][0] if kind != "activation" else rnd.choice(slots[aid])[0]
            seats_cap = cap[aid] if kind != "activation" else dict(slots[aid])[sid]
            party = 1 + (1 if (kind != "residency" and rnd.random() < 0.1) else 0)
            if taken[sid] + party <= seats_cap:
                taken[sid] += party
                status = "confirmed"
                cancelled = rnd.random() < 0.03
                admitted = not cancelled and rnd.random() < 0.85
            else:
                status, cancelled, admitted = "waitlisted", rnd.random() < 0.2, False
            plan.append({"aid": aid, "sid": sid, "email": email, "party": party, "status": status, "cancelled": cancelled,
                         "admitted": admitted, "kind": kind, "walkin": False, "lang": lang})
    for w in range(guests // 30):  # walk-ins at activations
        aid = rnd.choice([a for a in acts if by_kind[a] == "activation"])
        sid = slots[aid][0][0]
        plan.append({"aid": aid, "sid": sid, "email": f"walkin+{w:06x}@walkin.invalid", "party": 1, "status": "confirmed",
                     "cancelled": False, "admitted": True, "kind": "activation", "walkin": True, "lang": "en"})
    erased = set(rnd.sample(range(len(plan)), k=min(50, len(plan))))
    for i, x in enumerate(plan):
        status = "cancelled" if x["cancelled"] else x["status"]
        email = x["email"]
        if i in erased and x["admitted"]:
            status, email = "cancelled", f"erased-{i}@erased.invalid"
            x["email"] = email
        waited = now - timedelta(days=9) if x["status"] == "waitlisted" else None
        rsvps.append((pid, x["aid"], x["sid"], "Guest" if not x["walkin"] else "Walk-in", email, x["party"] - 1, status,
                      "{}", uuid.uuid4().hex, x["lang"], now - timedelta(days=10), now - timedelta(days=10), waited))
    t0 = time.perf_counter()
    ids = await _bulk("INSERT INTO rsvp (program, activity, slot, name, email, guests, status, answers, ticket_code, language, "
                      "created_at, updated_at, waitlisted_at) VALUES ? RETURNING id", rsvps, 13)
    loc = (await db.raw("SELECT id FROM location WHERE program = {} AND space IS NOT NULL ORDER BY id LIMIT 1", pid))[0]["id"]
    checkins = []
    for x, r in zip(plan, ids):
        x["id"] = r["id"]
        if x["admitted"]:
            kit = "handed_out" if x["kind"] == "activation" else "none"
            day_slots = [x["sid"]] if x["kind"] != "residency" else [sid for sid, _ in slots[x["aid"]]]
            for sid in day_slots:
                checkins.append((pid, r["id"], sid, now - timedelta(days=3), "bench", x["party"], kit, now - timedelta(days=3)))
    cids = await _bulk("INSERT INTO checkin (program, rsvp, slot, checked_in_at, device, party, kit, created_at) VALUES ? RETURNING id, party, kit",
                       checkins, 8)
    ledger = [(pid, s["kit"]["id"], loc, -c["party"], "hand_out", f"checkin:{c['id']}", now - timedelta(days=3, hours=rnd.randint(0, 72)))
              for c in cids if c["kit"] == "handed_out"]
    await _bulk("INSERT INTO stock_movement (program, item, location, quantity, kind, ref, created_at) VALUES ?", ledger, 7)
    seconds = time.perf_counter() - t0
    # The expected counts, from the plan.
    seated = [x for x in plan if x["status"] == "confirmed" and (not x["cancelled"] or x["admitted"])]
    return {
        "seed_seconds": round(seconds, 1), "rsvps": len(plan), "checkins": len(checkins),
        "people": len({x["email"] for x in plan if x["admitted"]}),
        "confirmed": len(seated),
        "checked_in": len(checkins),
        "no_shows": sum(1 for x in seated if not x["admitted"] and not x["walkin"]),
        "waitlist_unserved": sum(1 for x in plan if x["status"] == "waitlisted"),
        "kits_handed_out": sum(c["party"] for c in cids if c["kit"] == "handed_out"),
    }


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return ""


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def _profile(c, label: str, url: str, headers: dict, out_dir: str, engine: str) -> str:
    """One request of `url` under a profiler (pyinstrument when installed, else cProfile); the text goes to out_dir."""
    path = os.path.join(out_dir, f"{engine}-{label.replace(' ', '_').replace(',', '').replace('(', '').replace(')', '')}.txt")
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        await c.get(url, headers=headers)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(60)
        text = buf.getvalue()
    else:
        profiler = Profiler(async_mode="enabled")
        profiler.start()
        await c.get(url, headers=headers)
        profiler.stop()
        text = profiler.output_text(unicode=True, show_all=False)
    Path(path).write_text(text)
    return path


async def _child(guests: int, rounds: int, profile_dir: str | None = None) -> dict:
    import httpx

    from bench.stmtcount import count, install
    from planner import db
    from planner.accounts.rules import create_user
    from planner.app import create_app

    install()
    await db.migrate()
    await create_user("organizer@bench.example", "correct horse battery", admin=True)
    app = create_app(run_worker=False)
    for hook in app.on_startup:
        await hook()
    out: dict[str, Any] = {"guests": guests}
    try:
        if db.is_postgres():
            out["server"] = "PostgreSQL " + (await db.raw("SHOW server_version"))[0]["server_version"].split()[0]
        else:
            out["server"] = "SQLite " + (await db.raw("SELECT sqlite_version() AS v"))[0]["v"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.local", timeout=120) as c:
            tok = (await c.post("/api/auth/token", json={"email": "organizer@bench.example", "password": "correct horse battery"})).json()["token"]
            h = {"Authorization": f"Bearer {tok}"}

            async def api(method: str, url: str, body: Any = None) -> Any:
                r = await c.request(method, url, json=body, headers=h)
                if r.status_code >= 300:
                    raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:300]}")
                return r.json()

            # A small programme first: the statement count of its report is the baseline.
            small = await _seed_structure(api, c)
            await _seed_guests(small, 200, seed=1)
            url_small = f"/api/programs/{small['program']['id']}/report"
            await c.get(url_small, headers=h)
            engine = db.engine()
            if hasattr(engine, "close_kept"):
                await engine.close_kept()  # reopen SQLite's kept connections under the driver hook
            out["statements_small"] = (await count(lambda: c.get(url_small, headers=h))).sql

            s = await _seed_structure(api, c)
            expected = await _seed_guests(s, guests)
            out.update({k: expected[k] for k in ("seed_seconds", "rsvps", "checkins")})
            pid = s["program"]["id"]
            url = f"/api/programs/{pid}/report"
            out["statements_full"] = (await count(lambda: c.get(url, headers=h))).sql
            report = (await c.get(url, headers=h)).json()
            wrong = {k: (report[k], v) for k, v in expected.items() if k in report and report[k] != v}
            out["checks"] = {"numbers": "OK" if not wrong else f"FAILED: {wrong}",
                             "statements": "OK" if out["statements_full"] == out["statements_small"] else
                             f"FAILED: {out['statements_small']} at 200 guests, {out['statements_full']} at {guests}"}
            html = {**h, "Accept": "text/html"}
            targets = [
                ("report API", url, h), ("report API, shareable", url + "?shareable=true", h),
                ("report page", f"/programs/{pid}/report", html), ("report page, shareable", f"/programs/{pid}/report?shareable=true", html),
                ("report PDF (A4)", f"/programs/{pid}/report.pdf", h), ("report CSV", f"/programs/{pid}/report.csv", h),
            ]
            out["timings"] = []
            out["load_before"] = _load()
            for label, u, hdr in targets:
                r = await c.get(u, headers=hdr)  # warm-up
                assert r.status_code == 200, (u, r.status_code, r.text[:300])
                n = rounds if "PDF" not in label else max(3, rounds // 4)
                times = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    r = await c.get(u, headers=hdr)
                    times.append((time.perf_counter() - t0) * 1000)
                out["timings"].append({"label": label, "n": n, "p50_ms": round(statistics.median(times), 1),
                                       "max_ms": round(max(times), 1), "bytes": len(r.content)})
            out["load_after"] = _load()
            if profile_dir:
                engine_name = "postgres" if db.is_postgres() else "sqlite"
                out["profiles"] = [await _profile(c, label, u, hdr, profile_dir, engine_name) for label, u, hdr in targets]
            out["report"] = {k: report[k] for k in ("people", "confirmed", "checked_in", "no_shows", "waitlist_unserved", "kits_handed_out")}
    finally:
        for hook in app.on_shutdown:
            await hook()
    return out


# ---------------------------------------------------------------- parent

async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_engine(engine: str, guests: int, rounds: int, profile_dir: str | None = None) -> dict:
    tmp = tempfile.mkdtemp(prefix=f"bench-report-{engine}-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_SMTP")}
    env["PLANNER_SECRET_KEY"] = "bench-" + uuid.uuid4().hex
    env["PLANNER_BASE_URL"] = "http://bench.local"
    name = f"bench_report_{uuid.uuid4().hex[:10]}"
    if engine == "postgres":
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        env["PLANNER_DATABASE_URL"] = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    else:
        env["PLANNER_DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
    try:
        r = subprocess.run([sys.executable, "-m", "bench.impact_report", "--child", "--guests", str(guests), "--rounds", str(rounds)]
                           + (["--profile", profile_dir] if profile_dir else []),
                           env=env, capture_output=True, text=True, timeout=1800, check=False)
        if r.returncode != 0:
            return {"engine": engine, "error": r.stderr[-2000:]}
        return {"engine": engine, **json.loads(r.stdout.strip().splitlines()[-1])}
    finally:
        if engine == "postgres":
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def table(results: list[dict]) -> str:
    lines = ["| engine | what | n | p50 ms | max ms | size | note |", "|---|---|---|---|---|---|---|"]
    for res in results:
        if "error" in res:
            lines.append(f"| {res['engine']} | run | | | | | FAILED: {res['error'][-200:]} |")
            continue
        lines.append(f"| {res['engine']} | {res.get('server', '')}, load average {res['load_before']} before the timed requests, "
                     f"{res['load_after']} after | | | | | |")
        lines.append(f"| {res['engine']} | seed ({res['guests']:,} guests, {res['rsvps']:,} RSVPs, {res['checkins']:,} check-ins) | | | | | "
                     f"bulk SQL in {res['seed_seconds']} s |")
        for t in res["timings"]:
            lines.append(f"| {res['engine']} | {t['label']} | {t['n']} | {t['p50_ms']:,.1f} | {t['max_ms']:,.1f} | {t['bytes'] / 1024:,.0f} KB | |")
        lines.append(f"| {res['engine']} | SQL statements per report request | | | | | {res['statements_small']} at 200 guests, "
                     f"{res['statements_full']} at {res['guests']:,} ({res['checks']['statements']}) |")
        lines.append(f"| {res['engine']} | report numbers vs the seeding plan | | | | | {res['checks']['numbers']}: "
                     f"{json.dumps(res['report'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.impact_report", description=__doc__.split("\n")[0])
    p.add_argument("--engines", default="sqlite,postgres")
    p.add_argument("--guests", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=20, help="timed requests per URL (the PDF gets a quarter)")
    p.add_argument("--quick", action="store_true", help="2,000 guests, 5 rounds: correctness only")
    p.add_argument("--profile", metavar="DIR", help="after the timings, profile one request per URL (pyinstrument if installed, "
                   "else cProfile) and write the text to DIR")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.guests, args.rounds = min(args.guests, 2000), 5
    if args.child:
        print(json.dumps(asyncio.run(_child(args.guests, args.rounds, args.profile)), default=str))
        return 0
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        args.profile = os.path.abspath(args.profile)
    print(f"{os.cpu_count()} cores, {_cpu()}, Python {sys.version.split()[0]}; load average at start {_load()}", flush=True)
    results = [run_engine(e.strip(), args.guests, args.rounds, args.profile) for e in args.engines.split(",") if e.strip()]
    print(table(results))
    print(f"load average at the end {_load()}")
    failed = [r for r in results if "error" in r or any(v != "OK" for v in r["checks"].values())]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
