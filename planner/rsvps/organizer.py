"""What organizers do with RSVPs: approve, decline, waitlist, remove, move, and list or export them."""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from planner.audit.rules import record
from planner.db import locked, write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import SafeCsvWriter, loads
from planner.i18n import _l
from planner.programs.rules import require_role
from planner.rsvps import seats
from planner.rsvps.booking import _cancel
from planner.rsvps.notices import enqueue
from planner.rsvps.seats import HOLDS_SEAT, Status, transition
from planner.rsvps.shapes import _int_id, rsvp_out, waitlist_position
from planner.rsvps.tables import Question, Rsvp
from planner.rsvps.waitlist import fill_freed_seats
from planner.scheduling.tables import Activity, Slot
from planner.terms import Term


async def _rsvp_for_organizer(rsvp_id: Any, user: dict | None) -> dict:
    try:
        rid = int(rsvp_id)
    except (TypeError, ValueError):
        raise not_found("That RSVP") from None
    r = await Rsvp.select().where(Rsvp.id == rid).first()
    if not r:
        raise not_found("That RSVP")
    await require_role(user, r["program"], "organizer")
    return r


async def approve(rsvp_id: Any, *, user: dict | None, now: datetime) -> dict:
    """Confirm an application (or invited/declined person) while seats last, else waitlist them."""
    r0 = await _rsvp_for_organizer(rsvp_id, user)
    async with write_transaction():
        slot = await locked(Slot.select(Slot.capacity, Slot.confirmed, Slot.waiting, Slot.queue_seq).where(Slot.id == r0["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] == "cancelled":
            raise PlannerError("This RSVP was cancelled by the guest.", "conflict")
        party = 1 + r["guests"]
        fits = seats.fits(slot, party)
        if r["status"] == "confirmed" or (r["status"] == "waitlisted" and not fits):
            if r["status"] == "waitlisted":
                raise PlannerError("No seat is free for this party; they stay on the waitlist.", "conflict")
            return rsvp_out(r, position=await waitlist_position(r))
        position = None
        if r["status"] == "offered" or fits:
            status = Status.CONFIRMED
            await seats.apply(r["slot"], transition(r["status"], status, party=party))
            seated = {Rsvp.promoted_at: now} if r["status"] == "waitlisted" else {}
            await Rsvp.update({Rsvp.status: status, Rsvp.queue_seq: None, Rsvp.offer_expires_at: None, Rsvp.updated_at: now,
                               **seated}).where(Rsvp.id == r["id"])
        else:
            status = Status.WAITLISTED
            seq = slot["queue_seq"] + 1
            position = slot["waiting"] + 1
            await seats.apply(r["slot"], transition(r["status"], status, party=party), queue_seq=seq)
            await Rsvp.update({Rsvp.status: status, Rsvp.queue_seq: seq, Rsvp.updated_at: now, Rsvp.waitlisted_at: now}).where(Rsvp.id == r["id"])
        await enqueue(kind=status, to=r["email"], rsvp_id=r["id"], context={"position": position}, now=now)
    return rsvp_out({**r, "status": status}, position=position)


async def decline(rsvp_id: Any, *, user: dict | None, now: datetime, reason: str = "") -> dict:
    r0 = await _rsvp_for_organizer(rsvp_id, user)
    async with write_transaction():
        await locked(Slot.select(Slot.id).where(Slot.id == r0["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] in ("declined", "cancelled"):
            return rsvp_out(r)
        await seats.apply(r["slot"], transition(r["status"], None, party=1 + r["guests"]))
        await Rsvp.update({Rsvp.status: "declined", Rsvp.queue_seq: None, Rsvp.note: reason, Rsvp.updated_at: now}).where(Rsvp.id == r["id"])
        await enqueue(kind="declined", to=r["email"], rsvp_id=r["id"], now=now)
        if r["status"] in HOLDS_SEAT:
            await fill_freed_seats(r["slot"], now=now)
    return rsvp_out({**r, "status": "declined"})


async def waitlist(rsvp_id: Any, *, user: dict | None, now: datetime) -> dict:
    """Put an application on the waitlist without confirming it."""
    r0 = await _rsvp_for_organizer(rsvp_id, user)
    async with write_transaction():
        slot = await locked(Slot.select(Slot.waiting, Slot.queue_seq).where(Slot.id == r0["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] not in ("applied", "invited", "declined"):
            raise PlannerError(_l("Only applications can be waitlisted; this RSVP is {status}.", status=Term(r["status"])), "conflict")
        seq = slot["queue_seq"] + 1
        await seats.apply(r["slot"], transition(r["status"], Status.WAITLISTED, party=1 + r["guests"]), queue_seq=seq)
        await Rsvp.update({Rsvp.status: Status.WAITLISTED, Rsvp.queue_seq: seq, Rsvp.updated_at: now, Rsvp.waitlisted_at: now}).where(Rsvp.id == r["id"])
        await enqueue(kind="waitlisted", to=r["email"], rsvp_id=r["id"], context={"position": slot["waiting"] + 1}, now=now)
    return rsvp_out({**r, "status": "waitlisted"}, position=slot["waiting"] + 1)


async def remove(rsvp_id: Any, *, user: dict | None, now: datetime, reason: str = "") -> dict:
    r = await _rsvp_for_organizer(rsvp_id, user)
    return await _cancel(r["id"], now=now, by_guest=False, reason=reason)


async def bulk(activity_id: Any, action: str, rsvp_ids: list, *, user: dict | None, now: datetime) -> list[dict]:
    """One action on several RSVPs of one activity; ids of other activities are not found there."""
    a = await Activity.select(Activity.id, Activity.program).where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    fn = {"approve": approve, "decline": decline, "waitlist": waitlist}.get(action)
    if fn is None:
        raise PlannerError("action must be approve, decline or waitlist.")
    if not isinstance(rsvp_ids, list) or not rsvp_ids:
        raise PlannerError("Choose at least one RSVP.")
    ids = [i for i in rsvp_ids if isinstance(i, int) and not isinstance(i, bool)]
    here = {r["id"] for r in await Rsvp.select(Rsvp.id).where((Rsvp.activity == a["id"]) & Rsvp.id.is_in(ids or [-1]))}
    out = []
    for rid in rsvp_ids:
        if rid not in here:
            out.append({"id": rid, "error": "That RSVP was not found in this activity."})
            continue
        try:
            out.append(await fn(rid, user=user, now=now))
        except PlannerError as exc:
            out.append({"id": rid, "error": exc.text})
    return out


async def reorder(rsvp_id: Any, position: Any, *, user: dict | None, reason: str, now: datetime) -> list[dict]:
    """Move a waitlisted RSVP to a position (1 = next in line), with a reason kept on the RSVP."""
    r0 = await _rsvp_for_organizer(rsvp_id, user)
    if not (reason or "").strip():
        raise PlannerError("Give a reason for changing the waitlist order.", extra={"field": "reason"})
    try:
        pos = int(position)
    except (TypeError, ValueError):
        raise PlannerError("position must be a whole number from 1.", extra={"field": "position"}) from None
    async with write_transaction():
        slot = await locked(Slot.select(Slot.queue_seq).where(Slot.id == r0["slot"])).first()
        line = await Rsvp.select(Rsvp.id).where((Rsvp.slot == r0["slot"]) & (Rsvp.status == "waitlisted")).order_by(Rsvp.queue_seq)
        ids = [x["id"] for x in line]
        if r0["id"] not in ids:
            raise PlannerError("Only waitlisted RSVPs can be moved in the line.", "conflict")
        if not 1 <= pos <= len(ids):
            raise PlannerError(_l("position must be between 1 and {n}.", n=len(ids)), extra={"field": "position"})
        ids.remove(r0["id"])
        ids.insert(pos - 1, r0["id"])
        base = slot["queue_seq"]
        for i, rid in enumerate(ids, start=1):
            await Rsvp.update({Rsvp.queue_seq: base + i}).where(Rsvp.id == rid)
        await Rsvp.update({Rsvp.note: reason.strip()[:1000], Rsvp.updated_at: now}).where(Rsvp.id == r0["id"])
        await Slot.update({Slot.queue_seq: base + len(ids)}).where(Slot.id == r0["slot"])
    return await list_rsvps(r0["activity"], user=user, status="waitlisted")


async def move(rsvp_id: Any, slot_id: Any, *, user: dict | None, now: datetime) -> dict:
    """Move a confirmed or waitlisted RSVP to another slot of the same activity, if the party fits there."""
    r0 = await _rsvp_for_organizer(rsvp_id, user)
    try:
        target = int(slot_id)
    except (TypeError, ValueError):
        raise PlannerError("slot_id must be a slot of this activity.", extra={"field": "slot_id"}) from None
    if not await Slot.exists().where((Slot.id == target) & (Slot.activity == r0["activity"])):
        raise PlannerError("That slot is not part of this activity.", "not_found", extra={"field": "slot_id"})
    if target == r0["slot"]:
        return rsvp_out(r0)
    async with write_transaction():
        for sid in sorted([r0["slot"], target]):
            await locked(Slot.select(Slot.id).where(Slot.id == sid))
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] != "confirmed":
            raise PlannerError("Only confirmed RSVPs can be moved to another slot.", "conflict")
        dest = await Slot.select(Slot.capacity, Slot.confirmed).where(Slot.id == target).first()
        party = 1 + r["guests"]
        if not seats.fits(dest, party):
            raise PlannerError("That slot has no room for this party.", "conflict")
        await seats.apply(r["slot"], transition(r["status"], None, party=party))
        await seats.apply(target, transition(None, r["status"], party=party))
        await Rsvp.update({Rsvp.slot: target, Rsvp.updated_at: now}).where(Rsvp.id == r["id"])
        await enqueue(kind="activity_changed", to=r["email"], rsvp_id=r["id"], now=now)
        await fill_freed_seats(r["slot"], now=now)
    return rsvp_out({**r, "slot": target})


async def list_rsvps(activity_id: Any, *, user: dict | None, status: str | None = None, include_sensitive: bool = False,
                     now: datetime | None = None) -> list[dict]:
    """The activity's RSVPs for its organizers. Showing sensitive answers is recorded in the audit log
    (pass `now` then)."""
    rows, a = await _rsvp_rows(activity_id, user=user, status=status, include_sensitive=include_sensitive)
    if include_sensitive:
        await record("sensitive_viewed", now=_need_now(now), program_id=a["program"], actor=user,
                     subject=f"activity {a['id']}", detail=f"{len(rows)} RSVPs listed with sensitive answers")
    return rows


def _need_now(now: datetime | None) -> datetime:
    if now is None:
        raise ValueError("pass now= when sensitive answers are shown: the audit log records when")
    return now


async def _rsvp_rows(activity_id: Any, *, user: dict | None, status: str | None, include_sensitive: bool) -> tuple[list[dict], dict]:
    a = await Activity.select(Activity.id, Activity.program).where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    q = Rsvp.select().where(Rsvp.activity == a["id"])
    if status:
        q = q.where(Rsvp.status == status)
    rows = await q.order_by(Rsvp.created_at).order_by(Rsvp.id)
    sensitive = {str(x["id"]) for x in await Question.select(Question.id).where((Question.activity == a["id"]) & (Question.sensitive == True))}  # noqa: E712
    # Positions from one ordered pass per slot, not a query per RSVP.
    positions: dict[int, int] = {}
    by_slot: dict[int, list[dict]] = {}
    for r in rows:
        if r["status"] == "waitlisted":
            by_slot.setdefault(r["slot"], []).append(r)
    for line in by_slot.values():
        for i, r in enumerate(sorted(line, key=lambda x: x["queue_seq"]), start=1):
            positions[r["id"]] = i
    out = []
    for r in rows:
        o = rsvp_out(r, position=positions.get(r["id"]))
        answers = dict(loads(r["answers"]) or {})
        if not include_sensitive:
            answers = {k: v for k, v in answers.items() if k not in sensitive and k != "plus_ones"}
        o["answers"] = answers
        o["note"] = r["note"]
        o["created_at"] = r["created_at"].isoformat()
        out.append(o)
    if status == "waitlisted":
        out.sort(key=lambda o: o.get("waitlist_position") or 0)
    return out, a


async def export_csv(activity_id: Any, *, user: dict | None, include_sensitive: bool, now: datetime | None = None) -> str:
    rows, a = await _rsvp_rows(activity_id, user=user, status=None, include_sensitive=include_sensitive)
    if include_sensitive:
        await record("sensitive_exported", now=_need_now(now), program_id=a["program"], actor=user,
                     subject=f"activity {a['id']}", detail=f"CSV of {len(rows)} RSVPs with sensitive answers")
    questions = await Question.select().where(Question.activity == _int_id(activity_id)).order_by(Question.position)
    if not include_sensitive:
        questions = [q for q in questions if not q["sensitive"]]
    buf = io.StringIO()
    w = SafeCsvWriter(buf)
    w.writerow(["id", "name", "email", "status", "party", "waitlist_position", "slot_id", "created_at", "note", *[q["label"] for q in questions]])
    for r in rows:
        w.writerow([
            r["id"], r["name"], r["email"], r["status"], r["party"], r.get("waitlist_position") or "",
            r["slot_id"], r["created_at"], r["note"],
            *[str(r["answers"].get(str(q["id"]), "")) for q in questions],
        ])
    return buf.getvalue()
