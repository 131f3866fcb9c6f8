"""Seeds the bench's programmes through the planner's real HTTP API, as an organizer would.

* gate: the ticket activations (one space each, with a kit handed out at check-in and its stock),
  holding the confirmed tickets that the scan scenarios admit; the offline pack covers them all;
* rush: the activation of the RSVP rush, and an activation whose tickets the offline batch admits;
* feed: a programme of many activities in distinct spaces and times, for the calendar feed.

Bulk calls (RSVPs, activities) go through the same closed-loop client as the load, concurrently.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from bench.load import RawConnection, Req, closed_loop

HOST = "127.0.0.1"
ADMIN = "organizer@bench.example"
STAFF = "staff@bench.example"


class ApiError(RuntimeError):
    pass


class Api:
    """Sequential calls on one keep-alive connection."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.token = token
        self.conn = RawConnection(HOST, port)

    def headers(self) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {self.token}"),) if self.token else ()

    async def call(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = (200, 201)) -> Any:
        raw = json.dumps(body).encode() if body is not None else None
        ans = await self.conn.send(self.conn.encode(Req(method, path, raw, self.headers())))
        ok = (expect,) if isinstance(expect, int) else expect
        if ans.status not in ok:
            raise ApiError(f"{method} {path} answered {ans.status}: {ans.body[:500]!r}")
        return ans.json() if ans.body else None

    def close(self) -> None:
        self.conn.close()


def req(method: str, path: str, body: Any, token: str) -> Req:
    return Req(method, path, json.dumps(body).encode(), (("Authorization", f"Bearer {token}"),))


async def token_for(port: int, email: str, password: str) -> str:
    api = Api(port)
    try:
        return (await api.call("POST", "/api/auth/token", {"email": email, "password": password}, expect=201))["token"]
    finally:
        api.close()


@dataclass
class Sizes:
    gate_activities: int
    tickets_per_activity: int
    batch_tickets: int
    rush_seats: int
    feed_spaces: int
    feed_per_space: int

    @property
    def tickets(self) -> int:
        return self.gate_activities * self.tickets_per_activity


FULL = Sizes(gate_activities=10, tickets_per_activity=1000, batch_tickets=1000, rush_seats=200, feed_spaces=20, feed_per_space=100)
QUICK = Sizes(gate_activities=3, tickets_per_activity=100, batch_tickets=50, rush_seats=10, feed_spaces=5, feed_per_space=10)


@dataclass
class Seeded:
    admin_token: str
    staff_token: str
    gate_program: int
    rush_program: int
    feed_program: int
    gate_activities: list[int]
    gate_kit: int
    kits_received: int
    tickets: list[str]  # confirmed ticket codes of the gate activities, interleaved across them
    codes_by_activity: dict[int, list[str]]
    batch_activity: int
    batch_kit: int
    batch_tickets: list[str]
    rush_activity: int
    rush_slot: int
    feed_activities: int
    day: str
    timings: dict[str, float] = field(default_factory=dict)


def _iso(d: date, hour: float) -> str:
    t = datetime.combine(d, time(0, 0), tzinfo=timezone.utc) + timedelta(hours=hour)
    return t.isoformat()


async def _kit(api: Api, program_id: int, name: str) -> int:
    item = await api.call("POST", f"/api/programs/{program_id}/items", {"name": f"{name} earplugs"}, expect=201)
    kit = await api.call("POST", f"/api/programs/{program_id}/kits",
                         {"name": name, "items": [{"item_id": item["id"], "quantity": 1}]}, expect=201)
    return kit["id"]


async def _receive(api: Api, program_id: int, kit_id: int, space_ids: list[int], quantity: int) -> None:
    locs = await api.call("GET", f"/api/programs/{program_id}/locations")
    by_space = {loc["space_id"]: loc["id"] for loc in locs if loc.get("space_id")}
    for sid in space_ids:
        await api.call("POST", f"/api/programs/{program_id}/stock/movements",
                       {"item_id": kit_id, "quantity": quantity, "kind": "receive", "location_id": by_space[sid],
                        "reason": "bench delivery"}, expect=(200, 201))


async def _rsvps(port: int, wanted: dict[int, int], prefix: str, concurrency: int) -> dict[int, list[str]]:
    """wanted[activity] confirmed RSVPs on each activity, interleaved so that PostgreSQL locks different slots at once."""
    reqs, owner = [], []
    for i in range(max(wanted.values())):
        for a, n in wanted.items():
            if i >= n:
                continue
            body = {"name": f"Guest {prefix}{a}-{i}", "email": f"{prefix}{a}-{i}@bench.example"}
            reqs.append(Req("POST", f"/api/activities/{a}/rsvps", json.dumps(body).encode()))
            owner.append(a)
    res = await closed_loop(HOST, port, reqs, concurrency=concurrency, max_seconds=600)
    codes: dict[int, list[str]] = {a: [] for a in wanted}
    for a, ans in zip(owner, res.answers):
        if ans is None or ans.status != 201:
            raise ApiError(f"seeding RSVP failed: {ans and ans.status} {ans and ans.body[:300]!r} {res.errors[:3]}")
        out = ans.json()
        if out["status"] != "confirmed":
            raise ApiError(f"seeding RSVP was not confirmed: {out}")
        codes[a].append(out["ticket"]["code"])
    return codes


async def seed(port: int, *, sizes: Sizes, admin_password: str, staff_password: str, log) -> Seeded:
    import time as _time

    timings: dict[str, float] = {}
    t0 = _time.perf_counter()
    admin_token = await token_for(port, ADMIN, admin_password)
    api = Api(port, admin_token)
    today = datetime.now(timezone.utc).date()
    day1 = today + timedelta(days=1)
    prog = {"timezone": "UTC", "country": "GB", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=14)).isoformat()}
    try:
        # The gate: ticket activations, one space each, all tomorrow, with a kit per admission.
        gate = (await api.call("POST", "/api/programs", {"name": "Bench gate", **prog}, expect=201))["id"]
        await api.call("POST", f"/api/programs/{gate}/members", {"email": STAFF, "role": "staff"}, expect=201)
        gate_kit = await _kit(api, gate, "Gate kit")
        spaces, activities = [], []
        for i in range(sizes.gate_activities):
            sp = await api.call("POST", f"/api/programs/{gate}/spaces", {"name": f"Gate tent {i + 1}", "capacity": 2000}, expect=201)
            spaces.append(sp["id"])
            a = await api.call("POST", f"/api/programs/{gate}/activities", {
                "kind": "activation", "title": f"Sound bath {i + 1}", "space_id": sp["id"],
                "starts_at": _iso(day1, 9), "ends_at": _iso(day1, 21), "capacity": sizes.tickets_per_activity,
                "rsvp_mode": "open", "kit_id": gate_kit}, expect=201)
            activities.append(a["id"])
        kits_each = sizes.tickets_per_activity + 50
        await _receive(api, gate, gate_kit, spaces, kits_each)

        # The rush and the offline batch.
        rush_p = (await api.call("POST", "/api/programs", {"name": "Bench rush", **prog}, expect=201))["id"]
        await api.call("POST", f"/api/programs/{rush_p}/members", {"email": STAFF, "role": "staff"}, expect=201)
        batch_kit = await _kit(api, rush_p, "Batch kit")
        rs = await api.call("POST", f"/api/programs/{rush_p}/spaces", {"name": "Backstage massage", "capacity": 500}, expect=201)
        rush = await api.call("POST", f"/api/programs/{rush_p}/activities", {
            "kind": "activation", "title": "Backstage massage", "space_id": rs["id"],
            "starts_at": _iso(day1, 12), "ends_at": _iso(day1, 14), "capacity": sizes.rush_seats, "rsvp_mode": "open"}, expect=201)
        bs = await api.call("POST", f"/api/programs/{rush_p}/spaces", {"name": "Tea tent", "capacity": 2000}, expect=201)
        batch = await api.call("POST", f"/api/programs/{rush_p}/activities", {
            "kind": "activation", "title": "Tea ceremony", "space_id": bs["id"],
            "starts_at": _iso(day1, 9), "ends_at": _iso(day1, 21), "capacity": sizes.batch_tickets,
            "rsvp_mode": "open", "kit_id": batch_kit}, expect=201)
        await _receive(api, rush_p, batch_kit, [bs["id"]], sizes.batch_tickets + 50)
        timings["setup"] = _time.perf_counter() - t0

        # Confirmed tickets, through POST /api/activities/{id}/rsvps, concurrently.
        t1 = _time.perf_counter()
        wanted = {a: sizes.tickets_per_activity for a in activities}
        wanted[batch["id"]] = sizes.batch_tickets
        codes = await _rsvps(port, wanted, "t", 32)
        batch_codes = codes.pop(batch["id"])
        timings["tickets"] = _time.perf_counter() - t1
        log(f"  seeded {sum(map(len, codes.values())) + len(batch_codes)} confirmed tickets in {timings['tickets']:.1f} s")

        # The feed programme: activities in distinct spaces and times, created concurrently.
        t2 = _time.perf_counter()
        feed = (await api.call("POST", "/api/programs", {"name": "Bench feed", **prog}, expect=201))["id"]
        fspaces = []
        for i in range(sizes.feed_spaces):
            fspaces.append((await api.call("POST", f"/api/programs/{feed}/spaces", {"name": f"Studio {i + 1}", "capacity": 30}, expect=201))["id"])
        reqs = []
        for n in range(sizes.feed_per_space):
            day, k = divmod(n, 10)
            for i, sid in enumerate(fspaces):
                start = 8 + 1.5 * k
                reqs.append(req("POST", f"/api/programs/{feed}/activities", {
                    "kind": "activation", "title": f"Yoga flow {i + 1}.{n + 1}", "space_id": sid,
                    "starts_at": _iso(day1 + timedelta(days=day), start), "ends_at": _iso(day1 + timedelta(days=day), start + 1),
                    "capacity": 20, "rsvp_mode": "open", "description": "Bring a mat; mats are also on site."}, admin_token))
        res = await closed_loop(HOST, port, reqs, concurrency=16, max_seconds=600)
        bad = [a for a in res.answers if a is None or a.status != 201]
        if bad or res.errors:
            b = bad[0] if bad else None
            raise ApiError(f"creating feed activities failed: {len(bad)} bad, first {b and b.status} {b and b.body[:300]!r} {res.errors[:3]}")
        timings["feed"] = _time.perf_counter() - t2
        log(f"  created {len(reqs)} feed activities in {timings['feed']:.1f} s")

        staff_token = await token_for(port, STAFF, staff_password)
        # Interleaved: consecutive scans are at different tents, as with scanners spread over the site.
        tickets = [codes[a][i] for i in range(sizes.tickets_per_activity) for a in activities]
        return Seeded(
            admin_token=admin_token, staff_token=staff_token, gate_program=gate, rush_program=rush_p, feed_program=feed,
            gate_activities=activities, gate_kit=gate_kit, kits_received=kits_each * len(spaces), tickets=tickets,
            codes_by_activity={a: codes[a] for a in activities}, day=day1.isoformat(),
            batch_activity=batch["id"], batch_kit=batch_kit, batch_tickets=batch_codes,
            rush_activity=rush["id"], rush_slot=rush["slots"][0]["id"], feed_activities=len(reqs), timings=timings,
        )
    finally:
        api.close()


def new_password() -> str:
    return secrets.token_urlsafe(18)
