"""Programmes, spaces, hosts, members and activities with their slots; clash-free scheduling."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from planner.accounts.rules import normalise_email
from planner.clock import as_utc, local, parse_date, zone
from planner.db import locked, write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import row_id, text, whole
from planner.i18n import Moment, _l, _nl
from planner.programs.rules import program_row, require_role
from planner.programs.tables import Program
from planner.scheduling.tables import (
    ACTIVITY_KINDS,
    RSVP_MODES,
    Activity,
    ActivityHost,
    Host,
    HostUnavailability,
    Slot,
    Space,
)

MAX_SLOTS = 500


def _int(data: dict, key: str, label: str, *, default: int | None = None, minimum: int = 0, maximum: int = 100_000) -> int:
    return whole(data.get(key, default), label, key, minimum=minimum, maximum=maximum)


def space_out(s: dict) -> dict:
    return {
        "id": s["id"], "program_id": s["program"], "name": s["name"], "capacity": s["capacity"],
        "access_notes": s["access_notes"], "address": s["address"],
        "turnover_minutes": s["turnover_minutes"], "counts_presence": s["counts_presence"],
        "inside": s["inside"],
    }


async def add_space(program_id: int, data: dict, *, user: dict | None) -> dict:
    """The space alone; planner.changes.spaces adds its shelf in the same transaction."""
    await require_role(user, program_id, "organizer")
    values = dict(
        program=program_id,
        name=text(data, "name", "Name"),
        capacity=_int(data, "capacity", "Capacity", minimum=1),
        access_notes=text(data, "access_notes", "Access notes", required=False, max_len=2000),
        address=text(data, "address", "Address", required=False, max_len=500),
        turnover_minutes=_int(data, "turnover_minutes", "Turnover buffer", default=0, maximum=24 * 60),
        counts_presence=bool(data.get("counts_presence", False)),
    )
    async with write_transaction():
        await _space_name_free(program_id, values["name"])
        space = Space(**values)
        await space.save()
    return space_out(space.to_dict())


async def update_space(space_id: int, data: dict, *, user: dict | None) -> dict:
    s = await Space.select().where(Space.id == row_id(space_id, "Space")).first()
    if not s:
        raise not_found("That space")
    await require_role(user, s["program"], "organizer")
    merged = {**s, **{k: v for k, v in data.items() if v is not None}}
    values = dict(
        name=text(merged, "name", "Name"),
        capacity=_int(merged, "capacity", "Capacity", minimum=1),
        access_notes=text(merged, "access_notes", "Access notes", required=False, max_len=2000),
        address=text(merged, "address", "Address", required=False, max_len=500),
        turnover_minutes=_int(merged, "turnover_minutes", "Turnover buffer", default=0, maximum=24 * 60),
        counts_presence=bool(merged.get("counts_presence")),
    )
    async with write_transaction():
        await _space_name_free(s["program"], values["name"], exclude=s["id"])
        await Space.update(values).where(Space.id == s["id"])
    return space_out({**s, **values})


async def _space_name_free(program_id: int, name: str, exclude: int | None = None) -> None:
    """Space names are unique in a programme (ignoring case); checked with the programme row locked."""
    await locked(Program.select(Program.id).where(Program.id == program_id))
    q = Space.select(Space.id, Space.name).where(Space.program == program_id)
    if exclude:
        q = q.where(Space.id != exclude)
    if any(r["name"].casefold() == name.casefold() for r in await q):
        raise PlannerError(_l("This programme already has a space called “{name}”; choose another name.", name=name), "conflict", extra={"field": "name"})


async def space_usage(space_id: Any, *, user: dict | None) -> dict:
    """What deleting a space would affect."""
    s = await Space.select().where(Space.id == row_id(space_id, "Space")).first()
    if not s:
        raise not_found("That space")
    await require_role(user, s["program"], "organizer")
    acts = await Activity.select(Activity.id, Activity.title).where(Activity.space == s["id"]).order_by(Activity.starts_at)
    return {"space": space_out(s), "activities": acts}


async def delete_space(space: dict) -> None:
    """Delete a space that no activity uses, inside the caller's write transaction (see
    planner.changes.spaces, which checks the shelf and the scans first); otherwise say what is in the way."""
    async with write_transaction():
        if await Activity.exists().where(Activity.space == space["id"]):
            n = await Activity.count().where(Activity.space == space["id"])
            raise PlannerError(_nl("{n} activity uses {name}; move or delete it first.", "{n} activities use {name}; move or delete them first.", n, name=space["name"]), "conflict")
        await Space.delete().where(Space.id == space["id"])


async def list_spaces(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    return [space_out(s) for s in await Space.select().where(Space.program == program_id).order_by(Space.name)]


def host_out(h: dict) -> dict:
    return {"id": h["id"], "program_id": h["program"], "name": h["name"], "email": h["email"]}


async def add_host(program_id: int, data: dict, *, user: dict | None) -> dict:
    await require_role(user, program_id, "organizer")
    email = data.get("email")
    host = Host(program=program_id, name=text(data, "name", "Name"), email=normalise_email(email) if email else None)
    await host.save()
    return host_out(host.to_dict())


async def _host_row(host_id: Any, user: dict | None) -> dict:
    h = await Host.select().where(Host.id == row_id(host_id, "Host")).first()
    if not h:
        raise not_found("That host")
    await require_role(user, h["program"], "organizer")
    return h


async def update_host(host_id: Any, data: dict, *, user: dict | None) -> dict:
    h = await _host_row(host_id, user)
    email = data.get("email")
    values = {"name": text({**h, **data}, "name", "Name"), "email": normalise_email(email) if email else None}
    await Host.update(values).where(Host.id == h["id"])
    return host_out({**h, **values})


async def host_usage(host_id: Any, *, user: dict | None) -> dict:
    h = await _host_row(host_id, user)
    acts = await ActivityHost.select(ActivityHost.activity.id, ActivityHost.activity.title).where(ActivityHost.host == h["id"])
    return {"host": host_out(h), "activities": [{"id": a["activity.id"], "title": a["activity.title"]} for a in acts]}


async def delete_host(host_id: Any, *, user: dict | None) -> int:
    """Delete a host: their activities stay, without them. Returns how many activities lost the host."""
    h = await _host_row(host_id, user)
    async with write_transaction():
        n = await ActivityHost.count().where(ActivityHost.host == h["id"])
        await ActivityHost.delete().where(ActivityHost.host == h["id"])
        await HostUnavailability.delete().where(HostUnavailability.host == h["id"])
        await Host.delete().where(Host.id == h["id"])
    return n


async def list_hosts(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id)
    return [host_out(h) for h in await Host.select().where(Host.program == program_id).order_by(Host.name)]


async def add_unavailability(host_id: int, data: dict, *, user: dict | None) -> dict:
    h = await Host.select().where(Host.id == row_id(host_id, "Host")).first()
    if not h:
        raise not_found("That host")
    await require_role(user, h["program"], "organizer")
    p = await program_row(h["program"])
    starts = as_utc(data.get("starts_at") or "", p["timezone"], "starts_at")
    ends = as_utc(data.get("ends_at") or "", p["timezone"], "ends_at")
    if ends <= starts:
        raise PlannerError("The end must be after the start.", extra={"field": "ends_at"})
    row = HostUnavailability(host=h["id"], starts_at=starts, ends_at=ends, note=text(data, "note", "Note", required=False, max_len=300))
    await row.save()
    return {"id": row.id, "host_id": h["id"], "starts_at": local(starts, p["timezone"]).isoformat(), "ends_at": local(ends, p["timezone"]).isoformat(), "note": row.note}


# ---------------------------------------------------------------- activities

@dataclass(frozen=True)
class SlotPlan:
    starts_at: datetime
    ends_at: datetime
    capacity: int


def plan_slots(kind: str, starts: datetime, ends: datetime, capacity: int, tz: str, data: dict) -> list[SlotPlan]:
    """The time windows an activity occupies, each with its own capacity."""
    explicit = data.get("slots")
    minutes = data.get("slot_minutes")
    if explicit:
        if not isinstance(explicit, list):
            raise PlannerError("slots must be a list of {starts_at, ends_at, capacity?}.", extra={"field": "slots"})
        out = []
        for i, s in enumerate(explicit):
            if not isinstance(s, dict):
                raise PlannerError("slots must be a list of {starts_at, ends_at, capacity?}.", extra={"field": "slots"})
            a = as_utc(s.get("starts_at") or "", tz, f"slots[{i}].starts_at")
            b = as_utc(s.get("ends_at") or "", tz, f"slots[{i}].ends_at")
            if b <= a:
                raise PlannerError(_l("Slot {number} ends before it starts.", number=i + 1), extra={"field": "slots"})
            if a < starts or b > ends:
                raise PlannerError(_l("Slot {number} lies outside the activity's times.", number=i + 1), extra={"field": "slots"})
            out.append(SlotPlan(a, b, _int(s, "capacity", "Slot capacity", default=capacity, minimum=1)))
        out.sort(key=lambda s: s.starts_at)
        for x, y in zip(out, out[1:]):
            if y.starts_at < x.ends_at:
                raise PlannerError("Two slots of the activity overlap.", extra={"field": "slots"})
        if len(out) > MAX_SLOTS:
            raise PlannerError(_l("An activity can have at most {n} slots.", n=MAX_SLOTS), extra={"field": "slots"})
        return out
    if minutes:
        length = _int(data, "slot_minutes", "Slot length", minimum=5, maximum=24 * 60)
        gap = _int(data, "slot_gap_minutes", "Gap between slots", default=0, maximum=240)
        out, t = [], starts
        while t + timedelta(minutes=length) <= ends:
            out.append(SlotPlan(t, t + timedelta(minutes=length), capacity))
            t += timedelta(minutes=length + gap)
            if len(out) > MAX_SLOTS:
                raise PlannerError(_l("An activity can have at most {n} slots.", n=MAX_SLOTS), extra={"field": "slot_minutes"})
        if not out:
            raise PlannerError("The slot length is longer than the activity.", extra={"field": "slot_minutes"})
        return out
    if kind == "residency":
        # One slot a day, from the start's time of day to the end's, in the programme's zone.
        a, b = local(starts, tz), local(ends, tz)
        if b.time() <= a.time():
            raise PlannerError("A residency's daily end time must be after its daily start time.", extra={"field": "ends_at"})
        out, day = [], a.date()
        while day <= b.date():
            s = datetime.combine(day, a.time(), tzinfo=a.tzinfo)
            e = datetime.combine(day, b.time(), tzinfo=a.tzinfo)
            out.append(SlotPlan(as_utc(s, tz), as_utc(e, tz), capacity))
            day += timedelta(days=1)
        return out
    return [SlotPlan(starts, ends, capacity)]


def _overlaps(a0: datetime, a1: datetime, b0: datetime, b1: datetime, buffer: timedelta) -> bool:
    return a0 < b1 + buffer and b0 < a1 + buffer


async def _find_clash(
    *, program_id: int, space: dict, host_ids: list[int], plans: list[SlotPlan], exclude_activity: int | None, tz: str
) -> None:
    """Raise 409 naming the activity (or host absence) in the way. Runs inside the write transaction."""
    lo = min(p.starts_at for p in plans)
    hi = max(p.ends_at for p in plans)
    buffer = timedelta(minutes=space["turnover_minutes"] or 0)
    conditions = (
        (Slot.space == space["id"])
        & (Slot.starts_at < hi + buffer)
        & (Slot.ends_at > lo - buffer)
        & (Slot.activity.cancelled_at.is_null())
    )
    if exclude_activity:
        conditions &= Slot.activity != exclude_activity
    taken = await Slot.select(Slot.starts_at, Slot.ends_at, Slot.activity.id, Slot.activity.title).where(conditions)
    for row in taken:
        for p in plans:
            if _overlaps(p.starts_at, p.ends_at, row["starts_at"], row["ends_at"], buffer):
                _raise_clash("space", space["name"], row, tz)
    if not host_ids:
        return
    cond = (
        ActivityHost.host.is_in(host_ids)
        & (ActivityHost.activity.cancelled_at.is_null())
        & (ActivityHost.activity.starts_at < hi)
        & (ActivityHost.activity.ends_at > lo)
    )
    if exclude_activity:
        cond &= ActivityHost.activity != exclude_activity
    busy = await ActivityHost.select(ActivityHost.activity.id, ActivityHost.host.name).where(cond)
    if busy:
        act_ids = list({b["activity.id"] for b in busy})
        slots = await Slot.select(Slot.starts_at, Slot.ends_at, Slot.activity.id, Slot.activity.title).where(Slot.activity.is_in(act_ids))
        names = {b["activity.id"]: b["host.name"] for b in busy}
        for row in slots:
            for p in plans:
                if _overlaps(p.starts_at, p.ends_at, row["starts_at"], row["ends_at"], timedelta(0)):
                    _raise_clash("host", names[row["activity.id"]], row, tz)
    away = await HostUnavailability.select(HostUnavailability.starts_at, HostUnavailability.ends_at, HostUnavailability.host.name, HostUnavailability.note).where(
        HostUnavailability.host.is_in(host_ids) & (HostUnavailability.starts_at < hi) & (HostUnavailability.ends_at > lo)
    )
    for row in away:
        for p in plans:
            if _overlaps(p.starts_at, p.ends_at, row["starts_at"], row["ends_at"], timedelta(0)):
                when = Moment(row["starts_at"], row["ends_at"], tz)
                raise PlannerError(
                    _l("{host} is unavailable {when} ({note}).", host=row["host.name"], when=when, note=row["note"]) if row["note"]
                    else _l("{host} is unavailable {when}.", host=row["host.name"], when=when),
                    "clash",
                    extra={"host": row["host.name"], "unavailable": True},
                )


def _raise_clash(what: str, name: str, row: dict, tz: str) -> None:
    when = Moment(row["starts_at"], row["ends_at"], tz)
    if what == "space":
        msg = _l("{name} is taken {when} by “{title}”.", name=name, when=when, title=row["activity.title"])
    else:
        msg = _l("{name} is hosting “{title}” {when}.", name=name, when=when, title=row["activity.title"])
    raise PlannerError(
        msg,
        "clash",
        extra={
            "clash": what,
            "activity": {"id": row["activity.id"], "title": row["activity.title"]},
            "starts_at": local(row["starts_at"], tz).isoformat(),
            "ends_at": local(row["ends_at"], tz).isoformat(),
        },
    )


async def _lock_resources(space_id: int, host_ids: Iterable[int]) -> None:
    """Serialise writes that touch the same space or host (PostgreSQL row locks; SQLite is already serial)."""
    await locked(Space.select(Space.id).where(Space.id == space_id))
    if host_ids:
        await locked(Host.select(Host.id).where(Host.id.is_in(sorted(host_ids))).order_by(Host.id))


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


def _check_dates(p: dict, plans: list[SlotPlan]) -> None:
    tz = p["timezone"]
    for s in plans:
        if local(s.starts_at, tz).date() < p["starts_on"] or local(s.ends_at - timedelta(seconds=1), tz).date() > p["ends_on"]:
            raise PlannerError(
                _l("The activity must lie within the programme's dates ({first} to {last}).",
                   first=Moment(p["starts_on"]), last=Moment(p["ends_on"])),
                extra={"field": "starts_at"},
            )


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


async def day_schedule(program_id: int, day: date, *, user: dict | None) -> dict:
    """Spaces as columns, the day's slots placed on a time axis (minutes since the day's first hour)."""
    await require_role(user, program_id)
    p = await program_row(program_id)
    tz = zone(p["timezone"])
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=1)
    spaces = await Space.select().where(Space.program == program_id).order_by(Space.name)
    rows = await Slot.select(
        Slot.id, Slot.starts_at, Slot.ends_at, Slot.space, Slot.capacity, Slot.confirmed, Slot.waiting,
        Slot.activity.id, Slot.activity.title, Slot.activity.kind, Slot.activity.published, Slot.activity.cancelled_at,
    ).where((Slot.program == program_id) & (Slot.starts_at < end) & (Slot.ends_at > start)).order_by(Slot.starts_at)
    first_hour = min([local(r["starts_at"], p["timezone"]).hour for r in rows] + [8])
    last_hour = max([min(24, local(r["ends_at"], p["timezone"]).hour + 1) for r in rows] + [20])
    columns = []
    for s in spaces:
        items = []
        for r in rows:
            if r["space"] != s["id"]:
                continue
            a0 = max(local(r["starts_at"], p["timezone"]), start)
            a1 = min(local(r["ends_at"], p["timezone"]), end)
            items.append({
                "slot_id": r["id"], "activity_id": r["activity.id"], "title": r["activity.title"],
                "kind": r["activity.kind"], "published": r["activity.published"],
                "cancelled": r["activity.cancelled_at"] is not None,
                "start": a0, "end": a1,
                "top": (a0.hour - first_hour) * 60 + a0.minute,
                "height": max(20, int((a1 - a0).total_seconds() // 60)),
                "capacity": r["capacity"], "confirmed": r["confirmed"], "waiting": r["waiting"],
            })
        columns.append({"space": s, "items": items})
    return {"program": p, "day": day, "columns": columns, "first_hour": first_hour, "last_hour": last_hour}
