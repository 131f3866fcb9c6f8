"""Slots and clashes: how an activity's time becomes slots, and the rule that no space or host is in two places at once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from planner.clock import as_utc, local
from planner.db import locked
from planner.errors import PlannerError
from planner.i18n import Moment, _l
from planner.scheduling.spaces import _int
from planner.scheduling.tables import (
    ActivityHost,
    Host,
    HostUnavailability,
    Slot,
    Space,
)

MAX_SLOTS = 500



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


def _check_dates(p: dict, plans: list[SlotPlan]) -> None:
    tz = p["timezone"]
    for s in plans:
        if local(s.starts_at, tz).date() < p["starts_on"] or local(s.ends_at - timedelta(seconds=1), tz).date() > p["ends_on"]:
            raise PlannerError(
                _l("The activity must lie within the programme's dates ({first} to {last}).",
                   first=Moment(p["starts_on"]), last=Moment(p["ends_on"])),
                extra={"field": "starts_at"},
            )
