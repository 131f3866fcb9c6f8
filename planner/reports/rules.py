"""The impact report: what a programme did for people, counted from the database in a fixed number of queries.

Definitions (one place for each):
- people: distinct guests (by email) admitted at least once; plus-ones are seats, not people. An
  erased guest still counts: erasure blanks the name and email but keeps the RSVP and its check-ins
  (the report counts by what survives, and a check-in whose RSVP is gone counts as one person).
- confirmed: RSVPs that hold a seat (confirmed, or a held offer) or were admitted, whatever became
  of them later; seats taken are the same RSVPs with their plus-ones.
- checked in: admissions of RSVPs (a residency admits once a day).
- no-shows: confirmed RSVPs never admitted (walk-ins are admitted by definition).
- waitlist demand never served: RSVPs that were on a waitlist and never got a seat.
- kits handed out: hand-out lines of the inventory ledger for kits; per activity, the kits handed out
  at its check-ins.
- sessions held: slots of activities not cancelled that have started.

The query count does not grow with guests, RSVPs, check-ins, activities or days: seats, RSVPs,
admissions and hand-outs come from aggregates grouped by slot; distinct people come from one
statement with a row per (slot, person), counted here for every dimension.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from planner.clock import stored_utc
from planner.db import is_postgres, raw
from planner.errors import PlannerError, not_found
from planner.programs.rules import require_role
from planner.tickets.walkin import WALKIN_DOMAIN

SMALL = 5
MASK = "<5"
# Counts that are, or reveal, a number of people: masked below SMALL in the shareable version.
PEOPLE_FIELDS = frozenset({
    "people", "confirmed", "seats_taken", "checked_in", "seats_checked_in", "no_shows", "waitlist_unserved",
    "walk_ins", "kits_handed_out", "residency_days_attended", "quantity", "count", "responses",
})


def small(value: Any, shareable: bool) -> Any:
    """A count of people as shown: below 5 it is "<5" in the shareable version."""
    if shareable and isinstance(value, int) and value < SMALL:
        return MASK
    return value


def mask(obj: Any, shareable: bool) -> Any:
    """Apply the small-number rule to every people field of a nested report structure."""
    if not shareable:
        return obj
    if isinstance(obj, list):
        return [mask(x, shareable) for x in obj]
    if isinstance(obj, dict):
        return {k: (small(v, True) if k in PEOPLE_FIELDS else mask(v, True)) for k, v in obj.items()}
    return obj


def _ids(values: list[int]) -> str:
    # Only ints read from our own tables reach this: safe to inline.
    return ",".join(str(int(v)) for v in values) or "NULL"


@dataclass
class Counts:
    sessions: int = 0
    sessions_held: int = 0
    seats: int = 0
    confirmed: int = 0
    seats_taken: int = 0
    checked_in: int = 0
    seats_checked_in: int = 0
    no_shows: int = 0
    waitlist_unserved: int = 0
    walk_ins: int = 0
    kits_handed_out: int = 0
    people: int = 0

    def add(self, other: Counts) -> None:
        for f in self.__dataclass_fields__:
            if f != "people":
                setattr(self, f, getattr(self, f) + getattr(other, f))

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass
class Report:
    programs: list[dict]
    now: datetime
    totals: Counts
    activities: list[dict]
    by: dict[str, list[dict]]
    items: list[dict]
    kits_by_day: list[dict]
    residency_days_attended: int
    dinners: list[dict]
    feedback: dict
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- queries

async def _programs(program_ids: list[int] | None) -> list[dict]:
    where = f"WHERE id IN ({_ids(program_ids)})" if program_ids is not None else ""
    return await raw(f"SELECT id, name, timezone, country, starts_on, ends_on, languages FROM program {where} ORDER BY starts_on, id")


async def _activities(pids: str) -> list[dict]:
    return await raw(
        "SELECT a.id, a.program, a.title, a.kind, a.space, a.capacity, a.starts_at, a.ends_at, a.cancelled_at, sp.name AS space_name "
        f"FROM activity a JOIN space sp ON sp.id = a.space WHERE a.program IN ({pids}) ORDER BY a.starts_at, a.id"
    )


async def _slots(pids: str) -> list[dict]:
    return await raw(f"SELECT id, activity, space, starts_at, ends_at, capacity FROM slot WHERE program IN ({pids}) ORDER BY starts_at, id")


def _rsvp_sql(pids: str) -> str:
    # "Was this RSVP ever admitted?" is an indexed EXISTS on checkin (rsvp, slot), once per RSVP.
    return f"""
SELECT x.slot, x.language,
       CASE WHEN x.status IN ('confirmed', 'offered') OR x.adm THEN 1 ELSE 0 END AS seated,
       CASE WHEN x.adm THEN 1 ELSE 0 END AS admitted,
       CASE WHEN x.status = 'waitlisted'
              OR (x.waitlisted_at IS NOT NULL AND x.promoted_at IS NULL
                  AND x.status NOT IN ('confirmed', 'offered') AND NOT x.adm) THEN 1 ELSE 0 END AS unserved,
       CASE WHEN x.email LIKE '%@{WALKIN_DOMAIN}' THEN 1 ELSE 0 END AS walkin,
       count(*) AS n, sum(1 + x.guests) AS seats
FROM (SELECT r.slot, r.language, r.status, r.waitlisted_at, r.promoted_at, r.email, r.guests,
             EXISTS (SELECT 1 FROM checkin c WHERE c.rsvp = r.id) AS adm
      FROM rsvp r WHERE r.program IN ({pids})) x
GROUP BY 1, 2, 3, 4, 5, 6
"""


def _admissions_sql(pids: str) -> str:
    return f"""
SELECT c.slot, COALESCE(r.language, '') AS language, count(*) AS admissions, sum(c.party) AS seats,
       sum(CASE WHEN c.kit = 'handed_out' THEN c.party ELSE 0 END) AS kits,
       sum(CASE WHEN r.email LIKE '%@{WALKIN_DOMAIN}' THEN 1 ELSE 0 END) AS walkins
FROM checkin c LEFT JOIN rsvp r ON r.id = c.rsvp
WHERE c.program IN ({pids})
GROUP BY 1, 2
"""


# A person is their email; a check-in whose RSVP row is gone is one person on its own.
PERSON = "COALESCE(r.email, 'checkin:' || CAST(c.id AS VARCHAR(20)))"


def _people_sql(pids: str) -> str:
    # One row per person and slot they were admitted to: every "distinct people" figure (by day, kind,
    # space, language, country, activity, programme) is counted from these rows, in one statement.
    return f"""
SELECT DISTINCT c.slot, COALESCE(r.language, '') AS language, {PERSON} AS person
FROM checkin c LEFT JOIN rsvp r ON r.id = c.rsvp
WHERE c.program IN ({pids})
"""


def _handout_sql(pids: str) -> str:
    hour = ("to_char(sm.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')" if is_postgres()
            else "strftime('%Y-%m-%dT%H', sm.created_at)")
    return f"""
SELECT sm.item, sm.program, {hour} AS hour, -sum(sm.quantity) AS n
FROM stock_movement sm
WHERE sm.program IN ({pids}) AND sm.kind = 'hand_out'
GROUP BY 1, 2, 3
"""


# ---------------------------------------------------------------- building

def _day(value: Any, tz: ZoneInfo) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).date()


async def build(program_ids: list[int] | None, *, now: datetime) -> Report:
    """The report over the given programmes (all of them when None). No access checks: callers do those."""
    programs = await _programs(program_ids)
    pids = _ids([p["id"] for p in programs])
    tzs = {p["id"]: ZoneInfo(p["timezone"]) for p in programs}
    country = {p["id"]: p["country"] for p in programs}
    activities = await _activities(pids)
    slots = await _slots(pids)
    act = {a["id"]: a for a in activities}

    slot_of = {s["id"]: s for s in slots}
    # Each slot's day, and the seats it offers: activations offer each slot; a residency or dinner
    # offers its capacity once (one RSVP covers every day), counted on its first slot.
    slot_day: dict[int, date] = {}
    first_slot: dict[int, int] = {}
    slots_of: dict[int, int] = {}
    for s in slots:
        a = act.get(s["activity"])
        if a is None:
            continue
        slot_day[s["id"]] = _day(s["starts_at"], tzs[a["program"]])
        first_slot.setdefault(a["id"], s["id"])
        slots_of[a["id"]] = slots_of.get(a["id"], 0) + 1
    per_slot: dict[int, Counts] = {}
    for s in slots:
        a = act.get(s["activity"])
        if a is None:
            continue
        c = per_slot.setdefault(s["id"], Counts())
        if a["cancelled_at"] is None:
            c.sessions = 1
            c.sessions_held = 1 if stored_utc(s["starts_at"]) <= now else 0
            if a["kind"] == "activation":
                c.seats = s["capacity"]
            elif first_slot[a["id"]] == s["id"]:
                c.seats = a["capacity"]

    # Language is a property of an RSVP: counts by language come from the same grouped rows.
    by_language: dict[str, Counts] = {}
    for row in await raw(_rsvp_sql(pids)):
        c = per_slot.setdefault(row["slot"], Counts())
        lc = by_language.setdefault(row["language"] or "", Counts())
        n, seats = int(row["n"]), int(row["seats"] or 0)
        for target in (c, lc):
            if row["seated"]:
                target.confirmed += n
                target.seats_taken += seats
                if not row["admitted"] and not row["walkin"]:
                    target.no_shows += n
            if row["unserved"]:
                target.waitlist_unserved += n
    for row in await raw(_admissions_sql(pids)):
        c = per_slot.setdefault(row["slot"], Counts())
        lc = by_language.setdefault(row["language"] or "", Counts())
        for target in (c, lc):
            target.checked_in += int(row["admissions"])
            target.seats_checked_in += int(row["seats"] or 0)
            target.kits_handed_out += int(row["kits"] or 0)
            target.walk_ins += int(row["walkins"] or 0)

    people_sets: dict[str, dict[str, set]] = {k: {} for k in ("total", "activity", "kind", "space", "language", "country", "day", "program")}
    for row in await raw(_people_sql(pids)):
        s = slot_of.get(row["slot"])
        a = act.get(s["activity"]) if s else None
        keys = {"total": "0", "language": row["language"] or ""}
        if a is not None:
            keys.update(activity=str(a["id"]), kind=a["kind"], space=str(s["space"]), country=country[a["program"]],
                        day=slot_day[s["id"]].isoformat(), program=str(a["program"]))
        for dim, k in keys.items():
            people_sets[dim].setdefault(k, set()).add(row["person"])
    people = {dim: {k: len(v) for k, v in groups.items()} for dim, groups in people_sets.items()}

    def group(keyf) -> dict[Any, Counts]:
        out: dict[Any, Counts] = {}
        for sid, c in per_slot.items():
            s = slot_of.get(sid)
            if s is None or s["activity"] not in act:
                continue
            out.setdefault(keyf(s, act[s["activity"]]), Counts()).add(c)
        return out

    # Activities, each with its own row.
    act_counts = group(lambda s, a: a["id"])
    activity_rows = []
    residency_days = 0
    dinners = []
    for a in activities:
        c = act_counts.get(a["id"], Counts())
        c.people = people["activity"].get(str(a["id"]), 0)
        # The seats an activity offers (a cancelled one offers none in the totals, but keeps its size here).
        if a["cancelled_at"] is not None:
            seats = a["capacity"] * (slots_of.get(a["id"], 1) if a["kind"] == "activation" else 1)
        else:
            seats = c.seats
        row = {"id": a["id"], "program_id": a["program"], "title": a["title"], "kind": a["kind"], "space": a["space_name"],
               "starts_at": stored_utc(a["starts_at"]).isoformat(), "day": _day(a["starts_at"], tzs[a["program"]]),
               "cancelled": a["cancelled_at"] is not None, "sessions": slots_of.get(a["id"], 0),
               **c.as_dict(), "seats": seats}
        activity_rows.append(row)
        if a["kind"] == "residency":
            residency_days += c.checked_in
            row["days_offered"] = slots_of.get(a["id"], 0)
        if a["kind"] == "dinner" and a["cancelled_at"] is None:
            dinners.append({"id": a["id"], "title": a["title"], "seats": seats, "seats_taken": c.seats_taken,
                            "seats_checked_in": c.seats_checked_in,
                            "fill": round(100 * c.seats_taken / seats) if seats else 0,
                            "attended_fill": round(100 * c.seats_checked_in / seats) if seats else 0})

    totals = Counts()
    for c in act_counts.values():
        totals.add(c)
    totals.people = people["total"].get("0", 0)

    def dimension(name: str, keyf, label, order=None) -> list[dict]:
        rows = []
        for k, c in group(keyf).items():
            c.people = people[name].get(k.isoformat() if isinstance(k, date) else str(k), 0)
            rows.append({"key": k if not isinstance(k, date) else k.isoformat(), "label": label(k), **c.as_dict()})
        rows.sort(key=order or (lambda r: str(r["label"])))
        return rows

    space_names = {a["space"]: a["space_name"] for a in activities}
    by = {
        "day": dimension("day", lambda s, a: slot_day[s["id"]], lambda k: k, order=lambda r: r["key"]),
        "kind": dimension("kind", lambda s, a: a["kind"], lambda k: k),
        "space": dimension("space", lambda s, a: s["space"], lambda k: space_names.get(k, str(k))),
        "country": dimension("country", lambda s, a: country[a["program"]], lambda k: k),
    }
    lang_rows = []
    for k, c in by_language.items():
        c.people = people["language"].get(k, 0)
        lang_rows.append({"key": k, "label": k or "?", **c.as_dict()})
    by["language"] = sorted(lang_rows, key=lambda r: r["label"])
    prog_counts = group(lambda s, a: a["program"])
    program_rows = []
    for p in programs:
        c = prog_counts.get(p["id"], Counts())
        c.people = people["program"].get(str(p["id"]), 0)
        program_rows.append({"key": p["id"], "label": p["name"], "country": p["country"], **c.as_dict()})
    by["program"] = program_rows

    items, kits_by_day, kits_total = await _handed_out(pids, tzs)
    totals.kits_handed_out = kits_total
    feedback = await feedback_summary(pids)
    return Report(programs=programs, now=now, totals=totals, activities=activity_rows, by=by, items=items,
                  kits_by_day=kits_by_day, residency_days_attended=residency_days, dinners=dinners, feedback=feedback)


async def _handed_out(pids: str, tzs: dict[int, ZoneInfo]) -> tuple[list[dict], list[dict], int]:
    """Items handed out (a kit counts as its components), kits handed out by day, and the kit total."""
    items = {r["id"]: r for r in await raw(f"SELECT id, name, is_kit FROM item WHERE program IN ({pids})")}
    components: dict[int, list[tuple[int, int]]] = {}
    kit_ids = [i for i, it in items.items() if it["is_kit"]]
    if kit_ids:
        for r in await raw(f"SELECT kit, item, quantity FROM kit_component WHERE kit IN ({_ids(kit_ids)})"):
            components.setdefault(r["kit"], []).append((r["item"], r["quantity"]))
    given: dict[int, int] = {}
    kits_day: dict[date, int] = {}
    kits_total = 0
    for r in await raw(_handout_sql(pids)):
        n = int(r["n"] or 0)
        it = items.get(r["item"])
        if it is None:
            continue
        if it["is_kit"]:
            kits_total += n
            hour = datetime.fromisoformat(str(r["hour"]) + ":00:00+00:00")
            day = hour.astimezone(tzs[r["program"]]).date()
            kits_day[day] = kits_day.get(day, 0) + n
            for item_id, q in components.get(it["id"], []):
                given[item_id] = given.get(item_id, 0) + n * q
        else:
            given[it["id"]] = given.get(it["id"], 0) + n
    item_rows = sorted(({"id": i, "name": items[i]["name"], "quantity": q} for i, q in given.items() if i in items),
                       key=lambda r: (-r["quantity"], r["name"]))
    kit_rows = [{"key": d.isoformat(), "label": d, "kits_handed_out": n} for d, n in sorted(kits_day.items())]
    return item_rows, kit_rows, kits_total


async def feedback_summary(pids: str) -> dict:
    """Aggregate answers only: per question, the count of each answer."""
    rows = await raw(f"SELECT question, answer, sum(count) AS n FROM feedback_tally WHERE program IN ({pids}) GROUP BY 1, 2")
    enabled = await raw(f"SELECT count(*) AS n FROM feedback_setting WHERE program IN ({pids}) AND enabled = {{}}", True)
    out: dict[str, dict[str, int]] = {"mood": {}, "again": {}}
    for r in rows:
        if int(r["n"] or 0):
            out.setdefault(r["question"], {})[r["answer"]] = int(r["n"])
    return {"enabled": bool(enabled and enabled[0]["n"]), "mood": out["mood"], "again": out["again"],
            "responses": sum(out["mood"].values())}


# ---------------------------------------------------------------- access and output

def _program_id(value: Any) -> int:
    try:
        pid = int(value)
    except (TypeError, ValueError):
        raise not_found("That programme") from None
    if not 0 < pid < 2**31:
        raise not_found("That programme")
    return pid


async def program_report(program_id: Any, *, user: dict | None, now: datetime) -> Report:
    pid = _program_id(program_id)
    await require_role(user, pid, "organizer")
    return await build([pid], now=now)


async def all_programs_report(*, user: dict | None, now: datetime) -> Report:
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    if not user.get("is_admin"):
        raise PlannerError("The report across all programmes is for administrators.", "forbidden")
    return await build(None, now=now)


API_ACTIVITY_FIELDS = ("id", "title", "kind", "seats", "confirmed", "checked_in", "no_shows", "waitlist_unserved",
                       "kits_handed_out")


def api_out(report: Report, *, shareable: bool) -> dict:
    """The JSON of GET /api/programs/{id}/report (see API.md), with the small-number rule when shareable."""
    t = report.totals
    out = {
        "people": t.people, "confirmed": t.confirmed, "checked_in": t.checked_in, "no_shows": t.no_shows,
        "waitlist_unserved": t.waitlist_unserved, "kits_handed_out": t.kits_handed_out,
        "activities": [
            {**{f: a[f] for f in API_ACTIVITY_FIELDS}, "people": a["people"], "seats_taken": a["seats_taken"],
             "walk_ins": a["walk_ins"], "sessions": a["sessions"], "cancelled": a["cancelled"]}
            for a in report.activities
        ],
        "shareable": shareable,
        "sessions_held": t.sessions_held, "seats": t.seats, "seats_taken": t.seats_taken, "walk_ins": t.walk_ins,
        "residency_days_attended": report.residency_days_attended,
        "items_handed_out": [{"name": i["name"], "quantity": i["quantity"]} for i in report.items],
        "by_day": [_dim(r) for r in report.by["day"]],
        "by_kind": [_dim(r) for r in report.by["kind"]],
        "by_space": [_dim(r) for r in report.by["space"]],
        "by_language": [_dim(r) for r in report.by["language"]],
        "dinners": [{k: d[k] for k in ("id", "title", "seats", "seats_taken")} for d in report.dinners],
        "feedback": {"mood": report.feedback["mood"], "again": report.feedback["again"],
                     "responses": report.feedback["responses"]},
    }
    if shareable:
        out = mask(out, True)
        out["shareable"] = True
        # Answer tallies are counts of people too.
        out["feedback"] = {k: ({a: small(n, True) for a, n in v.items()} if isinstance(v, dict) else v)
                           for k, v in out["feedback"].items()}
    return out


def _dim(r: dict) -> dict:
    return {"key": r["key"], "people": r["people"], "sessions": r["sessions"], "seats": r["seats"], "confirmed": r["confirmed"],
            "seats_taken": r["seats_taken"], "checked_in": r["checked_in"], "no_shows": r["no_shows"],
            "waitlist_unserved": r["waitlist_unserved"], "walk_ins": r["walk_ins"], "kits_handed_out": r["kits_handed_out"]}
