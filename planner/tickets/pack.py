"""What a staff scanner needs: the activities it may scan, their counts, and an offline pack.

The offline pack lets a phone judge scans with no network. It never holds a ticket code:
each confirmed ticket appears as the first HASH_BYTES bytes of SHA-256(code), base64url
without padding, next to the little a door needs (a short name, the party size, the slot)
and the check-ins already recorded. The scanner hashes what its camera read with Web
Crypto and looks it up; the server stays the judge when the scans are synced.

Pack shape (version 1):
    {"version": 1, "generated_at", "hash": {"algorithm": "SHA-256", "bytes": 12, "encoding": "base64url"},
     "grace_minutes", "programs": [{"id", "name", "timezone"}],
     "activities": [{"id", "program_id", "title", "kind", "space": {"id", "name"}, "starts_at", "ends_at",
                     "cancelled", "kit": {"id", "name"} | null, "slots": [{"id", "starts_at", "ends_at", "capacity"}]}],
     "fields": ["hash", "name", "party", "slot"], "tickets": [[hash, name, party, slot_id], ...],
     "checkins": [[ticket_index, slot_id, checked_in_at (Unix seconds), device], ...]}
Rows are arrays rather than objects: 10,000 tickets stay near 400 KB raw and 180 KB gzipped.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from planner.clock import local, stored_utc, zone
from planner.db import raw
from planner.errors import PlannerError, not_found
from planner.programs.rules import require_role
from planner.scheduling.tables import Slot
from planner.tickets.decide import GRACE_AFTER_END

PACK_VERSION = 1
HASH_BYTES = 12
TICKET_FIELDS = ["hash", "name", "party", "slot"]
SCAN_ROLES = ("organizer", "staff")


def code_hash(code: str, size: int = HASH_BYTES) -> str:
    """The pack's key for a ticket code: truncated SHA-256, base64url without padding."""
    digest = hashlib.sha256(code.strip().encode("utf-8")).digest()[:size]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def short_name(name: str) -> str:
    """First name and the initial of the last: enough for a door, less to lose with a phone."""
    parts = (name or "").split()
    if not parts:
        return ""
    first = parts[0][:24]
    return first if len(parts) == 1 else f"{first} {parts[-1][0].upper()}."


def _marks(ids: Iterable[Any]) -> str:
    return ", ".join("{}" for _ in ids)


async def _in(sql: str, ids: list[int], *args: Any) -> list[dict]:
    """`sql` with `{ids}` standing for the list; further `{}` placeholders come after it."""
    if not ids:
        return []
    return await raw(sql.replace("{ids}", _marks(ids)), *ids, *args)


# ---------------------------------------------------------------- activities and their counts

ACTIVITIES = """
SELECT a.id, a.program, a.title, a.kind, a.space, a.starts_at, a.ends_at, a.cancelled_at, a.kit,
       sp.name AS space_name, k.name AS kit_name, p.name AS program_name, p.timezone
FROM activity a
JOIN space sp ON sp.id = a.space
JOIN program p ON p.id = a.program
LEFT JOIN item k ON k.id = a.kit
WHERE a.id IN ({ids})
ORDER BY a.starts_at, a.id
"""


async def _activities(activity_ids: list[int]) -> tuple[list[dict], dict[int, list[dict]]]:
    acts = await _in(ACTIVITIES, sorted(set(activity_ids)))
    slots: dict[int, list[dict]] = {a["id"]: [] for a in acts}
    for s in await _in("SELECT id, activity, starts_at, ends_at, capacity FROM slot WHERE activity IN ({ids}) ORDER BY starts_at, id",
                       list(slots)):
        slots[s["activity"]].append(s)
    return acts, slots


def _activity_out(a: dict, slots: list[dict]) -> dict:
    tz = a["timezone"]
    return {
        "id": a["id"], "program_id": a["program"], "title": a["title"], "kind": a["kind"],
        "space": {"id": a["space"], "name": a["space_name"]},
        "starts_at": local(stored_utc(a["starts_at"]), tz).isoformat(), "ends_at": local(stored_utc(a["ends_at"]), tz).isoformat(),
        "cancelled": a["cancelled_at"] is not None,
        "kit": {"id": a["kit"], "name": a["kit_name"]} if a["kit"] is not None else None,
        "slots": [{"id": s["id"], "starts_at": local(stored_utc(s["starts_at"]), tz).isoformat(),
                   "ends_at": local(stored_utc(s["ends_at"]), tz).isoformat(), "capacity": s["capacity"]} for s in slots],
    }


async def _counts(acts: list[dict], slots: dict[int, list[dict]]) -> dict[int, dict]:
    """People expected and checked in, per activity and slot (plus-ones included).

    A residency's guests are expected on each of its days, so a day's slot expects all of them.
    """
    ids = [a["id"] for a in acts]
    slot_ids = [s["id"] for a in acts for s in slots[a["id"]]]
    came = {r["slot"]: int(r["people"] or 0) for r in await _in(
        "SELECT slot, SUM(party) AS people FROM checkin WHERE slot IN ({ids}) GROUP BY slot", slot_ids)}
    by_slot: dict[int, int] = {}
    by_activity: dict[int, int] = {}
    for r in await _in("SELECT activity, slot, SUM(1 + guests) AS people FROM rsvp "
                       "WHERE activity IN ({ids}) AND status = 'confirmed' GROUP BY activity, slot", ids):
        by_slot[r["slot"]] = by_slot.get(r["slot"], 0) + int(r["people"] or 0)
        by_activity[r["activity"]] = by_activity.get(r["activity"], 0) + int(r["people"] or 0)
    out = {}
    for a in acts:
        per_day = a["kind"] == "residency"
        rows = [{"id": s["id"], "checked_in": came.get(s["id"], 0),
                 "expected": by_activity.get(a["id"], 0) if per_day else by_slot.get(s["id"], 0)} for s in slots[a["id"]]]
        out[a["id"]] = {
            "checked_in": sum(r["checked_in"] for r in rows),
            "expected": by_activity.get(a["id"], 0) * (len(rows) if per_day else 1),
            "slots": rows,
        }
    return out


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PlannerError("day must be a date like 2027-07-02.", extra={"field": "day"}) from None


async def _day_activity_ids(program: dict, day: date) -> list[int]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone(program["timezone"]))
    rows = await Slot.select(Slot.activity).where(
        (Slot.program == program["id"]) & (Slot.starts_at < start + timedelta(days=1)) & (Slot.ends_at > start))
    return sorted({r["activity"] for r in rows})


async def _scan_programs(user: dict | None, program_id: int | None = None) -> list[dict]:
    if user is None:
        raise PlannerError("Log in as staff to scan tickets.", "unauthorized")
    if program_id is not None:
        await require_role(user, program_id, *SCAN_ROLES)
    rows = await raw(
        'SELECT p.id, p.name, p.timezone, p.starts_on, p.ends_on, m.role FROM membership m JOIN program p ON p.id = m.program '
        'WHERE m."user" = {} ORDER BY p.starts_on, p.id', user["id"])
    rows = [r for r in rows if r["role"] in SCAN_ROLES and (program_id is None or r["id"] == program_id)]
    for r in rows:
        for k in ("starts_on", "ends_on"):
            if isinstance(r[k], str):
                r[k] = date.fromisoformat(r[k][:10])
    return rows


def _today(p: dict, now: datetime) -> date:
    return local(now, p["timezone"]).date()


async def scannable(user: dict | None, *, now: datetime, program_id: int | None = None, day: Any = None) -> dict:
    """The activities this user may scan on a day (today in each programme's zone unless `day` is given),
    with their slots and counts, the spaces they are in, and the programmes."""
    programs = await _scan_programs(user, program_id)
    chosen = _day(day)
    ids: list[int] = []
    out_programs = []
    for p in programs:
        d = chosen or _today(p, now)
        ids += await _day_activity_ids(p, d)
        out_programs.append({"id": p["id"], "name": p["name"], "timezone": p["timezone"], "role": p["role"], "day": d.isoformat(),
                             "starts_on": p["starts_on"].isoformat(), "ends_on": p["ends_on"].isoformat()})
    acts, slots = await _activities(ids)
    counts = await _counts(acts, slots)
    activities = []
    spaces: dict[int, dict] = {}
    for a in acts:
        item = _activity_out(a, slots[a["id"]])
        c = counts[a["id"]]
        item.update(checked_in=c["checked_in"], expected=c["expected"])
        by_id = {s["id"]: s for s in c["slots"]}
        for s in item["slots"]:
            s.update(checked_in=by_id[s["id"]]["checked_in"], expected=by_id[s["id"]]["expected"])
        activities.append(item)
        spaces[a["space"]] = {"id": a["space"], "name": a["space_name"], "program_id": a["program"]}
    return {"generated_at": now.astimezone(timezone.utc).isoformat(), "programs": out_programs,
            "spaces": sorted(spaces.values(), key=lambda s: (s["program_id"], s["name"].lower())), "activities": activities}


async def _activity_program(activity_id: Any) -> int:
    try:
        aid = int(activity_id)
    except (TypeError, ValueError):
        raise PlannerError("activity_id must be an activity id.", extra={"field": "activity_id"}) from None
    rows = await raw("SELECT program FROM activity WHERE id = {}", aid)
    if not rows:
        raise not_found("That activity")
    return rows[0]["program"]


async def scan_status(user: dict | None, *, activity_id: Any, now: datetime) -> dict:
    """Checked in and expected people for one activity, in total and per slot."""
    program_id = await _activity_program(activity_id)
    await _scan_programs(user, program_id)
    acts, slots = await _activities([int(activity_id)])
    c = (await _counts(acts, slots))[int(activity_id)]
    return {"activity_id": int(activity_id), "generated_at": now.astimezone(timezone.utc).isoformat(), **c}


async def pack_for(user: dict | None, *, now: datetime, activity_id: Any = None, program_id: Any = None, day: Any = None) -> dict:
    """The offline pack of one activity, or of all a programme's activities on a day (today by default)."""
    if activity_id not in (None, ""):
        pid = await _activity_program(activity_id)
        await _scan_programs(user, pid)
        return await build_pack([int(activity_id)], now=now)
    if program_id in (None, ""):
        raise PlannerError("Say which activity_id or program_id the pack is for.", extra={"field": "activity_id"})
    try:
        pid = int(program_id)
    except (TypeError, ValueError):
        raise PlannerError("program_id must be a programme id.", extra={"field": "program_id"}) from None
    p = (await _scan_programs(user, pid))[0]
    d = _day(day) or _today(p, now)
    pack = await build_pack(await _day_activity_ids(p, d), now=now)
    pack["day"] = d.isoformat()
    return pack


async def build_pack(activity_ids: Iterable[int], *, now: datetime, hash_bytes: int = HASH_BYTES) -> dict:
    """The offline pack for these activities (no permission check: callers check the role)."""
    acts, slots = await _activities(list(activity_ids))
    ids = [a["id"] for a in acts]
    programs = {a["program"]: {"id": a["program"], "name": a["program_name"], "timezone": a["timezone"]} for a in acts}
    tickets: list[list[Any]] = []
    index: dict[int, int] = {}
    for r in await _in("SELECT id, ticket_code, name, guests, slot FROM rsvp WHERE activity IN ({ids}) AND status = 'confirmed' "
                       "ORDER BY id", ids):
        index[r["id"]] = len(tickets)
        tickets.append([code_hash(r["ticket_code"], hash_bytes), short_name(r["name"]), 1 + r["guests"], r["slot"]])
    slot_ids = [s["id"] for a in acts for s in slots[a["id"]]]
    checkins = []
    for c in await _in("SELECT rsvp, slot, checked_in_at, device FROM checkin WHERE slot IN ({ids}) ORDER BY id", slot_ids):
        i = index.get(c["rsvp"])
        if i is not None:
            checkins.append([i, c["slot"], int(stored_utc(c["checked_in_at"]).timestamp()), c["device"] or ""])
    return {
        "version": PACK_VERSION,
        "generated_at": now.astimezone(timezone.utc).isoformat(),
        "hash": {"algorithm": "SHA-256", "bytes": hash_bytes, "encoding": "base64url"},
        "grace_minutes": int(GRACE_AFTER_END.total_seconds() // 60),
        "programs": list(programs.values()),
        "activities": [_activity_out(a, slots[a["id"]]) for a in acts],
        "fields": TICKET_FIELDS,
        "tickets": tickets,
        "checkins": checkins,
    }
