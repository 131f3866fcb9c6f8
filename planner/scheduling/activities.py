"""Activities of the three kinds (activations, residencies, dinners): creating, reading, changing and copying them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from planner.clock import as_utc, local, parse_date
from planner.db import locked, write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import row_id, text
from planner.i18n import _l, _nl
from planner.programs.rules import program_row, require_role
from planner.scheduling.clashes import SlotPlan, _check_dates, _find_clash, _lock_resources, plan_slots
from planner.scheduling.spaces import _int
from planner.scheduling.tables import (
    ACTIVITY_KINDS,
    RSVP_MODES,
    Activity,
    ActivityHost,
    Host,
    Slot,
    Space,
)


async def _space_in(program_id: int, space_id: Any) -> dict:
    s = await Space.select().where((Space.id == row_id(space_id, "space_id")) & (Space.program == program_id)).first()
    if not s:
        raise PlannerError("That space was not found in this programme.", "not_found", extra={"field": "space_id"})
    return s


async def _hosts_in(program_id: int, host_ids: Any) -> list[int]:
    if host_ids in (None, []):
        return []
    if not isinstance(host_ids, list):
        raise PlannerError("host_ids must be a list of host ids.", extra={"field": "host_ids"})
    ids = sorted({row_id(h, "host_ids") for h in host_ids})
    found = await Host.select(Host.id).where(Host.id.is_in(ids) & (Host.program == program_id))
    if len(found) != len(ids):
        raise PlannerError("A host was not found in this programme.", "not_found", extra={"field": "host_ids"})
    return ids


def _kit_id(kit_id: Any) -> int | None:
    """The kit's id as given; planner.changes.activities checks it is an item of the programme."""
    if kit_id in (None, ""):
        return None
    return row_id(kit_id, "kit_id")


def _activity_fields(data: dict, current: dict | None, tz: str) -> dict:
    base = dict(current or {})
    merged = {**base, **{k: v for k, v in data.items() if v is not None}}
    kind = merged.get("kind")
    if kind not in ACTIVITY_KINDS:
        raise PlannerError("kind must be activation, residency or dinner.", extra={"field": "kind"})
    default_mode = {"activation": "open", "residency": "apply", "dinner": "invite"}[kind]
    mode = merged.get("rsvp_mode") or default_mode
    if mode not in RSVP_MODES:
        raise PlannerError("rsvp_mode must be open, invite or apply.", extra={"field": "rsvp_mode"})
    starts = as_utc(merged.get("starts_at") or "", tz, "Starts")
    ends = as_utc(merged.get("ends_at") or "", tz, "Ends")
    if ends <= starts:
        raise PlannerError("The end must be after the start.", extra={"field": "ends_at"})
    if ends - starts > timedelta(days=60):
        raise PlannerError("An activity can last at most 60 days.", extra={"field": "ends_at"})
    deadline = merged.get("rsvp_deadline")
    promotion = merged.get("promotion") or "auto"
    if promotion not in ("auto", "offer"):
        raise PlannerError("promotion must be auto or offer.", extra={"field": "promotion"})
    return dict(
        kind=kind,
        title=text(merged, "title", "Title"),
        description=text(merged, "description", "Description", required=False, max_len=5000),
        what_to_bring=text(merged, "what_to_bring", "What to bring", required=False, max_len=2000),
        starts_at=starts,
        ends_at=ends,
        capacity=_int(merged, "capacity", "Seats", minimum=1),
        rsvp_mode=mode,
        max_guests=_int(merged, "max_guests", "Plus-ones allowed", default=0, maximum=20),
        published=bool(merged.get("published", True)),
        rsvp_deadline=as_utc(deadline, tz, "RSVP deadline") if deadline else None,
        promotion=promotion,
        hold_hours=_int(merged, "hold_hours", "Hold hours", default=24, minimum=1, maximum=24 * 14),
        walkin_estimate=_int(merged, "walkin_estimate", "Expected walk-ins", default=0),
    )


async def create_activity(program_id: int, data: dict, *, user: dict | None, now: datetime) -> dict:
    await require_role(user, program_id, "organizer")
    p = await program_row(program_id)
    tz = p["timezone"]
    for key in ("kind", "title", "space_id", "starts_at", "ends_at", "capacity"):
        if data.get(key) in (None, ""):
            raise PlannerError(_l("{field} is required.", field=ACTIVITY_LABELS.get(key, key)), extra={"field": key})
    fields = _activity_fields(data, None, tz)
    space = await _space_in(program_id, data["space_id"])
    host_ids = await _hosts_in(program_id, data.get("host_ids"))
    kit_id = _kit_id(data.get("kit_id"))
    plans = plan_slots(fields["kind"], fields["starts_at"], fields["ends_at"], fields["capacity"], tz, data)
    _check_dates(p, plans)
    async with write_transaction():
        await _lock_resources(space["id"], host_ids)
        await _find_clash(program_id=program_id, space=space, host_ids=host_ids, plans=plans, exclude_activity=None, tz=tz)
        activity = Activity(program=program_id, space=space["id"], kit=kit_id, created_at=now, updated_at=now, **fields)
        await activity.save()
        if host_ids:
            await ActivityHost.insert(*[ActivityHost(activity=activity.id, host=h) for h in host_ids])
        await Slot.insert(*[
            Slot(activity=activity.id, program=program_id, space=space["id"], starts_at=s.starts_at, ends_at=s.ends_at, capacity=s.capacity)
            for s in plans
        ])
    return await get_activity(activity.id, user=user)


async def activity_row(activity_id: Any) -> dict:
    a = await Activity.select().where(Activity.id == row_id(activity_id, "Activity")).first()
    if not a:
        raise not_found("That activity")
    return a


async def activity_out(a: dict, tz: str, *, slots: list[dict] | None = None, host_ids: list[int] | None = None, space: dict | None = None) -> dict:
    if slots is None:
        slots = await Slot.select().where(Slot.activity == a["id"]).order_by(Slot.starts_at)
    if host_ids is None:
        host_ids = [r["host"] for r in await ActivityHost.select(ActivityHost.host).where(ActivityHost.activity == a["id"])]
    out = {
        "id": a["id"],
        "program_id": a["program"],
        "kind": a["kind"],
        "title": a["title"],
        "description": a["description"],
        "what_to_bring": a["what_to_bring"],
        "space_id": a["space"],
        "starts_at": local(a["starts_at"], tz).isoformat(),
        "ends_at": local(a["ends_at"], tz).isoformat(),
        "capacity": a["capacity"],
        "rsvp_mode": a["rsvp_mode"],
        "max_guests": a["max_guests"],
        "kit_id": a["kit"],
        "host_ids": host_ids,
        "published": a["published"],
        "cancelled": a["cancelled_at"] is not None,
        "rsvp_deadline": local(a["rsvp_deadline"], tz).isoformat() if a["rsvp_deadline"] else None,
        "promotion": a["promotion"],
        "hold_hours": a["hold_hours"],
        "walkin_estimate": a["walkin_estimate"],
        "sequence": a["sequence"],
        "slots": [
            {
                "id": s["id"],
                "starts_at": local(s["starts_at"], tz).isoformat(),
                "ends_at": local(s["ends_at"], tz).isoformat(),
                "capacity": s["capacity"],
                "confirmed": s["confirmed"],
                "waiting": s["waiting"],
            }
            for s in slots
        ],
    }
    if space is not None:
        out["space"] = {"id": space["id"], "name": space["name"]}
    return out


async def get_activity(activity_id: Any, *, user: dict | None) -> dict:
    a = await activity_row(activity_id)
    await require_role(user, a["program"])
    p = await program_row(a["program"])
    return await activity_out(a, p["timezone"])


async def list_activities(program_id: int, *, user: dict | None, published_only: bool = False) -> list[dict]:
    if not published_only:
        await require_role(user, program_id)
    p = await program_row(program_id)
    q = Activity.select().where(Activity.program == program_id)
    if published_only:
        q = q.where((Activity.published == True) & Activity.cancelled_at.is_null())  # noqa: E712
    acts = await q.order_by(Activity.starts_at)
    ids = [a["id"] for a in acts]
    slots_by: dict[int, list] = {i: [] for i in ids}
    hosts_by: dict[int, list] = {i: [] for i in ids}
    if ids:
        for s in await Slot.select().where(Slot.program == program_id).order_by(Slot.starts_at):
            if s["activity"] in slots_by:
                slots_by[s["activity"]].append(s)
        for h in await ActivityHost.select(ActivityHost.activity, ActivityHost.host).where(ActivityHost.activity.program == program_id):
            if h["activity"] in hosts_by:
                hosts_by[h["activity"]].append(h["host"])
    return [await activity_out(a, p["timezone"], slots=slots_by[a["id"]], host_ids=hosts_by[a["id"]]) for a in acts]


# The names the activity form gives its fields, so an error names what the organizer sees.
ACTIVITY_LABELS = {"kind": _l("Kind"), "title": _l("Title"), "space_id": _l("Space"), "starts_at": _l("Starts"),
                   "ends_at": _l("Ends"), "capacity": _l("Seats"), "rsvp_deadline": _l("RSVP deadline")}

CHANGES_INVITE = ("title", "starts_at", "ends_at", "space_id", "what_to_bring")


@dataclass(frozen=True)
class ActivityUpdate:
    """What an update changed that guests must hear of: planner.changes.activities acts on it."""
    activity_id: int
    invite_changed: bool
    grown_slots: list[int]


async def update_activity(activity_id: Any, data: dict, *, user: dict | None, now: datetime) -> ActivityUpdate:
    """Change an activity and its slots; call inside the write transaction that also tells the guests."""
    a = await activity_row(activity_id)
    await require_role(user, a["program"], "organizer")
    if a["cancelled_at"] is not None:
        raise PlannerError("This activity was cancelled and can no longer be changed.", "closed")
    p = await program_row(a["program"])
    tz = p["timezone"]
    current = {**a, "starts_at": a["starts_at"], "ends_at": a["ends_at"]}
    if "kind" in data and data["kind"] != a["kind"]:
        raise PlannerError("The kind of an activity cannot change; create a new one.", extra={"field": "kind"})
    fields = _activity_fields(data, current, tz)
    space_id = data.get("space_id") or a["space"]
    space = await _space_in(a["program"], space_id)
    hosts_given = "host_ids" in data and data["host_ids"] is not None
    host_ids = await _hosts_in(a["program"], data["host_ids"]) if hosts_given else [
        r["host"] for r in await ActivityHost.select(ActivityHost.host).where(ActivityHost.activity == a["id"])
    ]
    kit_id = _kit_id(data["kit_id"]) if "kit_id" in data else a["kit"]
    overbook_ok = bool(data.get("overbook_ok"))
    invite_changed = any(k in data and data[k] is not None for k in CHANGES_INVITE) and (
        fields["title"] != a["title"] or fields["starts_at"] != a["starts_at"] or fields["ends_at"] != a["ends_at"]
        or space["id"] != a["space"] or fields["what_to_bring"] != a["what_to_bring"]
    )
    async with write_transaction():
        await _lock_resources(space["id"], host_ids)
        slots = await locked(Slot.select().where(Slot.activity == a["id"]).order_by(Slot.starts_at))
        delta = fields["starts_at"] - a["starts_at"]
        if len(slots) == 1:
            plans = [SlotPlan(fields["starts_at"], fields["ends_at"], fields["capacity"])]
        else:
            plans = [SlotPlan(s["starts_at"] + delta, s["ends_at"] + delta, fields["capacity"] if "capacity" in data else s["capacity"]) for s in slots]
            if any(pl.ends_at > fields["ends_at"] for pl in plans):
                raise PlannerError("The new end would cut off slots; move the start too, or change the slots.", extra={"field": "ends_at"})
        _check_dates(p, plans)
        await _find_clash(program_id=a["program"], space=space, host_ids=host_ids, plans=plans, exclude_activity=a["id"], tz=tz)
        for s, pl in zip(slots, plans):
            if s["confirmed"] > pl.capacity and not overbook_ok:
                raise PlannerError(
                    _nl("{n} person is already confirmed; the capacity cannot drop to {capacity} unless you send overbook_ok.",
                        "{n} people are already confirmed; the capacity cannot drop to {capacity} unless you send overbook_ok.",
                        s["confirmed"], capacity=pl.capacity),
                    extra={"field": "capacity", "confirmed": s["confirmed"]},
                )
        await Activity.update(
            {**fields, Activity.space: space["id"], Activity.kit: kit_id, Activity.updated_at: now,
             Activity.sequence: a["sequence"] + (1 if invite_changed else 0)}
        ).where(Activity.id == a["id"])
        for s, pl in zip(slots, plans):
            await Slot.update({Slot.starts_at: pl.starts_at, Slot.ends_at: pl.ends_at, Slot.capacity: pl.capacity, Slot.space: space["id"]}).where(Slot.id == s["id"])
        if hosts_given:
            await ActivityHost.delete().where(ActivityHost.activity == a["id"])
            if host_ids:
                await ActivityHost.insert(*[ActivityHost(activity=a["id"], host=h) for h in host_ids])
    return ActivityUpdate(a["id"], invite_changed, [s["id"] for s, pl in zip(slots, plans) if pl.capacity > s["capacity"]])


async def duplicate_activity(activity_id: Any, days: list[Any], *, user: dict | None, now: datetime) -> list[dict]:
    """Copy an activity (times, space, hosts, kit, questions, slots) to other days of the programme.
    All copies or none: a clash on any day refuses the lot, naming it. The questions are copied by
    planner.changes.activities in the same transaction."""
    a = await activity_row(activity_id)
    await require_role(user, a["program"], "organizer")
    p = await program_row(a["program"])
    tz = p["timezone"]
    if not isinstance(days, list) or not days:
        raise PlannerError("Choose at least one day to copy the activity to.", extra={"field": "days"})
    first_day = local(a["starts_at"], tz).date()
    targets = sorted({parse_date(d, "Day") for d in days})
    if first_day in targets:
        raise PlannerError("The activity is already on that day; choose other days.", extra={"field": "days"})
    slots = await Slot.select().where(Slot.activity == a["id"]).order_by(Slot.starts_at)
    host_ids = [r["host"] for r in await ActivityHost.select(ActivityHost.host).where(ActivityHost.activity == a["id"])]
    space = await _space_in(a["program"], a["space"])

    def shift(dt: datetime, day: date) -> datetime:
        # Same wall-clock time on the other day, in the programme's zone (DST-safe).
        loc = local(dt, tz)
        moved = datetime.combine(loc.date() + (day - first_day), loc.time(), tzinfo=loc.tzinfo)
        return as_utc(moved.replace(tzinfo=None), tz)

    created = []
    async with write_transaction():
        await _lock_resources(space["id"], host_ids)
        for day in targets:
            plans = [SlotPlan(shift(s["starts_at"], day), shift(s["ends_at"], day), s["capacity"]) for s in slots]
            _check_dates(p, plans)
            await _find_clash(program_id=a["program"], space=space, host_ids=host_ids, plans=plans, exclude_activity=None, tz=tz)
            copy = {k: v for k, v in a.items() if k not in ("id", "cancelled_at", "cancel_reason", "sequence", "created_at", "updated_at")}
            copy.update(starts_at=shift(a["starts_at"], day), ends_at=shift(a["ends_at"], day), created_at=now, updated_at=now,
                        rsvp_deadline=shift(a["rsvp_deadline"], day) if a["rsvp_deadline"] else None)
            row = Activity(**copy)
            await row.save()
            if host_ids:
                await ActivityHost.insert(*[ActivityHost(activity=row.id, host=h) for h in host_ids])
            await Slot.insert(*[Slot(activity=row.id, program=a["program"], space=space["id"], starts_at=pl.starts_at,
                                     ends_at=pl.ends_at, capacity=pl.capacity) for pl in plans])
            created.append({"id": row.id, "day": day.isoformat()})
    return created
