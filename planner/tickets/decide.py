"""The scan decision: one pure function, fed by both scan paths, and the one result they answer with.

`decide(row, scan, now, grace=...)` judges a scan from what the database said about the
ticket (`TicketRow`), with no I/O: the careful path (`rules.admit`) and the PostgreSQL
one-statement path (`rules._fast_scan`) only fetch and write around it, and both turn the
decision into the response with `result()`. tests/tickets/test_scan_parity.py runs both
paths over the same scenarios and compares every field.

A scan for another slot of the same timed activity is refused as `wrong_activity` with the
reason `other_slot` and when the ticket is for, as the scanner's offline judge says it; staff
and organizers can admit it anyway with a reason. Such an admission is recorded on the ticket's own slot, so the unique (ticket, slot) key still lets
a ticket in once only, and keeps the scanned slot and the reason on the check-in.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from planner.clock import stored_utc
from planner.errors import PlannerError
from planner.i18n import LazyText, Moment, _l
from planner.inventory.handout import NO_KIT_LEFT
from planner.terms import Term

# A session's tickets are still honoured this long after it ends (late stragglers, a slow queue).
GRACE_AFTER_END = timedelta(hours=2)
MAX_REASON = 300


@dataclass(frozen=True)
class Scan:
    code: str
    scan_id: str | None = None
    scanned_at: datetime | None = None
    slot_id: int | None = None
    override: bool = False  # "admit anyway": staff or an organizer lets a ticket of another slot in
    reason: str = ""


@dataclass(frozen=True)
class SlotTime:
    id: int
    activity: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Existing:
    """The admission already recorded for this ticket and slot."""

    id: int
    checked_in_at: datetime
    device: str | None
    scan_id: str | None


@dataclass(frozen=True)
class TicketRow:
    """What a scan path fetched about the scanned ticket (both paths select the same columns)."""

    id: int
    name: str
    guests: int
    status: str
    slot: int
    activity: int
    program: int
    title: str
    kit: int | None
    space: int
    kind: str
    cancelled_at: datetime | None
    slot_starts: datetime
    slot_ends: datetime
    timezone: str
    kit_name: str | None
    kit_low: int
    role: str | None
    scanned_slot: SlotTime | None = None  # the scanner's chosen slot when it is not the ticket's own
    day_slots: tuple[SlotTime, ...] | None = None  # a residency's slots (fetched by the careful path only)
    existing: Existing | None = None

    @property
    def party(self) -> int:
        return 1 + int(self.guests)

    @classmethod
    def of(cls, row: Mapping[str, Any], *, day_slots: tuple[SlotTime, ...] | None = None,
           existing: Existing | None = None) -> TicketRow:
        scanned = None
        if row.get("scan_slot_activity") is not None:
            scanned = SlotTime(id=int(row["scan_slot_id"]), activity=int(row["scan_slot_activity"]),
                               starts_at=stored_utc(row["scan_slot_starts"]), ends_at=stored_utc(row["scan_slot_ends"]))
        return cls(
            id=row["id"], name=row["name"], guests=int(row["guests"] or 0), status=row["status"], slot=row["slot"],
            activity=row["activity"], program=row["program"], title=row["title"], kit=row["kit"], space=row["space"],
            kind=row["kind"], cancelled_at=stored_utc(row["cancelled_at"]), slot_starts=stored_utc(row["slot_starts"]),
            slot_ends=stored_utc(row["slot_ends"]), timezone=row["timezone"], kit_name=row["kit_name"],
            kit_low=int(row["kit_low"] or 0), role=row["role"], scanned_slot=scanned, day_slots=day_slots,
            existing=existing,
        )


def existing_of(row: Mapping[str, Any] | None, prefix: str = "") -> Existing | None:
    if row is None or row.get(prefix + "id") is None:
        return None
    return Existing(id=row[prefix + "id"], checked_in_at=stored_utc(row[prefix + "checked_in_at"]),
                    device=row[prefix + "device"], scan_id=row[prefix + "scan_id"])


# What a scan path does with a decision.
ADMIT = "admit"  # write the admission (then, on a conflict, decide again with the existing one)
REPLAY = "replay"  # the same scan again: the first outcome, nothing written
SUPERSEDE = "supersede"  # an earlier offline scan: it becomes the admission, the later one a conflict
ALREADY = "already"  # admitted before: say when and by which device
REFUSE = "refuse"  # not admitted, with the reason


@dataclass(frozen=True)
class Decision:
    action: str
    result: str  # the response's "result": admitted, already_checked_in, invalid, not_open, wrong_activity
    at: datetime
    code: str = ""  # the response's "reason" for a refusal, as the offline judge says it: other_slot, over, cancelled
    slot_id: int | None = None
    message: LazyText | None = None
    reason: str = ""  # set when admitted anyway
    scanned_slot: SlotTime | None = None


def kit_state(row: TicketRow) -> str:
    """The check-in's kit column as written with the admission (a scan path sets none_left after an empty shelf)."""
    return "none" if row.kit is None else "handed_out"


def _refuse(result: str, at: datetime, message: LazyText, slot_id: int | None = None, code: str = "") -> Decision:
    return Decision(REFUSE, result, at, slot_id=slot_id, message=message, code=code)


def _local_day(value: datetime, tz: str) -> date:
    return value.astimezone(ZoneInfo(tz)).date()


def _target(row: TicketRow, scan: Scan, at: datetime) -> Decision | tuple[int, datetime, SlotTime | None]:
    """The slot the admission is recorded on, the end it is judged against, and the slot admitted anyway
    to; or a refusal."""
    chosen = scan.slot_id
    if chosen is not None and chosen != row.slot:
        other = row.scanned_slot
        if other is None or other.id != chosen or other.activity != row.activity:
            return _refuse("wrong_activity", at, _l("This ticket is for “{title}” at {time}.", title=row.title,
                                                    time=Moment(row.slot_starts, None, row.timezone, "time")))
        if row.kind == "residency":
            return chosen, other.ends_at, None  # a residency's ticket is good on each of its days
        if not scan.override:
            return _refuse("wrong_activity", at, _l("This ticket is for another time of “{title}”: {time}.", title=row.title,
                                                    time=Moment(row.slot_starts, None, row.timezone)), slot_id=chosen, code="other_slot")
        # Admitted anyway: recorded on the ticket's own slot (once per ticket), judged by the scanned one.
        return row.slot, other.ends_at, other
    if row.kind == "residency" and chosen is None:
        # One admission a day: the residency's slot on the scan's day (programme time).
        day = _local_day(at, row.timezone)
        for s in row.day_slots or ():
            if _local_day(s.starts_at, row.timezone) == day:
                return s.id, s.ends_at, None
        return _refuse("not_open", at, _l("This session is over."), code="over")
    return row.slot, row.slot_ends, None


def decide(row: TicketRow, scan: Scan, now: datetime, *, grace: timedelta = GRACE_AFTER_END) -> Decision:
    """Judge one scan of a known ticket. Pure: everything it needs is in `row`.

    `row.existing` is the admission already recorded for the target slot, if the path knows
    of one; with none, an admissible scan says ADMIT, and the path writes it (a conflict on
    writing means decide again with the existing admission). A scanner without a role in
    the ticket's programme is refused with PlannerError ("forbidden").
    """
    if row.role is None:
        raise PlannerError("This ticket belongs to a programme you are not staff of.", "forbidden")
    at = scan.scanned_at or now
    if row.status != "confirmed":
        return _refuse("invalid", at, _l("This ticket is not confirmed ({status}).", status=Term(row.status)))
    if row.cancelled_at is not None:
        return _refuse("not_open", at, _l("This activity was cancelled."), code="cancelled")
    target = _target(row, scan, at)
    if isinstance(target, Decision):
        return target
    slot_id, ends_at, anyway = target
    if at > ends_at + grace:
        return _refuse("not_open", at, _l("This session is over."), code="over")
    e = row.existing
    if e is None:
        return Decision(ADMIT, "admitted", at, slot_id=slot_id, reason=scan.reason if anyway else "", scanned_slot=anyway)
    if scan.scan_id is not None and e.scan_id == scan.scan_id:
        # A replay of the scan that admitted: same scan id, same outcome.
        return Decision(REPLAY, "admitted", e.checked_in_at, slot_id=slot_id)
    if scan.scanned_at is not None and at < e.checked_in_at:
        # An offline scan from earlier than the recorded one: the earliest scan wins.
        return Decision(SUPERSEDE, "admitted", at, slot_id=slot_id)
    return Decision(ALREADY, "already_checked_in", e.checked_in_at, slot_id=slot_id,
                    message=already_text(e.checked_in_at, row.timezone, e.device))


def already_text(first_at: datetime, tz: str, device: str | None) -> LazyText:
    if device:
        return _l("Already checked in at {time} by {device}.", time=Moment(first_at, None, tz, "time"), device=device)
    return _l("Already checked in at {time} by a scanner.", time=Moment(first_at, None, tz, "time"))


def unknown_code() -> dict:
    return {"result": "invalid", "message": _l("This code is not a ticket.")}


def scan_id_taken() -> dict:
    # The write conflicted on scan_id alone: this scan id was already used for another ticket.
    return {"result": "invalid", "message": _l("This scan id was already used for another ticket.")}


def kit_out(name: str | None, party: int, handed_out: bool) -> dict:
    """The kit part of an admission (a scan's or a walk-in's)."""
    kit: dict[str, Any] = {"name": name, "handed_out": handed_out, "quantity": party if handed_out else 0}
    if not handed_out:
        kit["message"] = NO_KIT_LEFT
    return kit


def result(d: Decision, row: TicketRow, *, kit_handed_out: bool | None = None) -> dict:
    """The response to a scan, the same from both paths. `kit_handed_out` after an ADMIT of a ticket with a kit."""
    out: dict[str, Any] = {"result": d.result, "guest": {"name": row.name}, "activity": {"id": row.activity, "title": row.title},
                           "program_id": row.program}
    if d.action == REFUSE:
        out["message"] = d.message
        if d.code:
            out["reason"] = d.code
        if d.code == "other_slot":
            # Say when the ticket is for: its own slot, in the programme's local time (the offline judge's field names).
            out["slot_id"] = row.scanned_slot.id if row.scanned_slot else None
            out["ticket_slot"] = row.slot
            out["ticket_slot_starts"] = row.slot_starts.astimezone(ZoneInfo(row.timezone)).isoformat()
        return out
    out.update(party=row.party, checked_in_at=d.at.isoformat(), slot_id=d.slot_id)
    if d.action == ADMIT:
        if row.kit is not None:
            out["kit"] = kit_out(row.kit_name, row.party, bool(kit_handed_out))
        if d.scanned_slot is not None:
            out["override"] = True
            out["override_reason"] = d.reason
            out["admitted_to_slot_id"] = d.scanned_slot.id
    elif d.action == REPLAY:
        out["replay"] = True
    elif d.action == SUPERSEDE:
        e = row.existing
        out["superseded"] = {"device": e.device, "checked_in_at": e.checked_in_at.isoformat()} if e else None
    elif d.action == ALREADY:
        if row.existing is not None and row.existing.device:
            out["device"] = row.existing.device
        out["message"] = d.message
    return out
