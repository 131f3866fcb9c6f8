"""A guest's own RSVP: taking a place (the one-statement path on PostgreSQL, the general path elsewhere),
the personal link, cancelling, changing the party, accepting an offered seat."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from planner import i18n
from planner.accounts.rules import normalise_email
from planner.clock import stored_utc
from planner.db import free_pool, is_postgres, locked, raw, write_transaction
from planner.errors import PlannerError, not_found
from planner.groupcommit import GroupCommit
from planner.i18n import _nl
from planner.outbox.rules import message_row
from planner.outbox.tables import OutboxMessage
from planner.rsvps import seats
from planner.rsvps.answers import _guests, _name, validate_answers
from planner.rsvps.notices import enqueue
from planner.rsvps.seats import ACTIVE, HOLDS_SEAT, transition
from planner.rsvps.shapes import rsvp_out, waitlist_position
from planner.rsvps.tables import ERASED_DOMAIN, Invitation, Question, Rsvp
from planner.rsvps.waitlist import fill_freed_seats
from planner.scheduling.tables import Activity, Slot
from planner.tokens import check_rsvp_token, new_code

ACTIVITY_READ = """
SELECT a.id, a.program, a.kind, a.rsvp_mode, a.max_guests, a.published, a.cancelled_at, a.rsvp_deadline,
       a.title, a.ends_at, a.promotion, a.hold_hours,
       (SELECT {slots} FROM (SELECT id FROM slot WHERE activity = a.id ORDER BY starts_at, id) AS ordered) AS slot_ids,
       EXISTS (SELECT 1 FROM question q WHERE q.activity = a.id) AS has_questions,
       (SELECT p.languages FROM program p WHERE p.id = a.program) AS program_languages
FROM activity a WHERE a.id = {{}}
"""


async def _open_activity(activity_id: Any, now: datetime) -> dict:
    """The activity, its slot ids, whether it asks questions and its programme's languages: one read,
    refused if not open (in the programme's default language if the guest and their browser chose none)."""
    try:
        aid = int(activity_id)
    except (TypeError, ValueError):
        raise not_found("That activity") from None
    agg = "array_agg(id)" if is_postgres() else "group_concat(id)"
    rows = await raw(ACTIVITY_READ.format(slots=agg), aid)
    a = rows[0] if rows else None
    if not a or not a["published"]:
        raise not_found("That activity")
    i18n.settle_for_program(a["program_languages"])
    ids = a["slot_ids"]
    a["slot_ids"] = [int(x) for x in (ids.split(",") if isinstance(ids, str) else ids or [])]
    for key in ("cancelled_at", "rsvp_deadline", "ends_at"):
        a[key] = stored_utc(a[key])
    if a["cancelled_at"] is not None:
        raise PlannerError("This activity was cancelled.", "closed")
    if a["rsvp_deadline"] is not None and now > a["rsvp_deadline"]:
        raise PlannerError("RSVPs for this activity have closed.", "closed")
    if now >= a["ends_at"]:
        raise PlannerError("This activity is over.", "closed")
    return a


def _pick_slot(a: dict, slot_id: Any) -> int:
    ids = a["slot_ids"]
    if a["kind"] != "activation":
        # Residencies and dinners hold their seats on their first slot; check-in is per slot.
        return ids[0]
    if slot_id in (None, ""):
        if len(ids) == 1:
            return ids[0]
        raise PlannerError("Pick a time slot.", extra={"field": "slot_id"})
    try:
        sid = int(slot_id)
    except (TypeError, ValueError):
        sid = -1
    if sid not in ids:
        raise PlannerError("That time slot is not part of this activity.", "not_found", extra={"field": "slot_id"})
    return sid


# RSVPs arriving together in this process share one transaction and one commit (planner.groupcommit), one
# after another on one connection: first come, first served, as the slot's row lock orders them across
# processes. A repeat in a group fails the group, which then runs RSVP by RSVP.
RSVPS: GroupCommit[Any] = GroupCommit("rsvp")

# PostgreSQL: lock the slot, move its counters, insert the RSVP (with its ticket) and the
# outbox row, all in one statement. The duplicate check is the partial unique index on
# (activity, email) for active RSVPs: a repeat fails the statement, which changes nothing.
FAST_RSVP = """
WITH s AS (
  SELECT id, capacity, confirmed, waiting, queue_seq FROM slot WHERE id = $1 FOR UPDATE
),
d AS (
  SELECT s.id, s.waiting, s.queue_seq,
         CASE WHEN $2 = 'apply' THEN 'applied'
              WHEN s.confirmed + $3 <= s.capacity THEN 'confirmed'
              ELSE 'waitlisted' END AS status
  FROM s
),
u AS (
  UPDATE slot SET confirmed = slot.confirmed + CASE WHEN d.status = 'confirmed' THEN $3 ELSE 0 END,
                  waiting = slot.waiting + CASE WHEN d.status = 'waitlisted' THEN 1 ELSE 0 END,
                  queue_seq = slot.queue_seq + CASE WHEN d.status = 'waitlisted' THEN 1 ELSE 0 END
  FROM d WHERE slot.id = d.id
  RETURNING slot.id
),
r AS (
  INSERT INTO rsvp (program, activity, slot, name, email, guests, status, queue_seq, answers, ticket_code,
                    invitation, language, offer_expires_at, note, created_at, updated_at, waitlisted_at, sequence)
  SELECT $4, $5, d.id, $6, $7, $3 - 1, d.status,
         CASE WHEN d.status = 'waitlisted' THEN d.queue_seq + 1 END,
         $8::json, $9, NULL, $10, NULL, '', $11, $11, CASE WHEN d.status = 'waitlisted' THEN $11::timestamptz END, 1
  FROM d
  RETURNING id, status
),
o AS (
  INSERT INTO outbox_message (to_addr, subject, body_text, body_html, ics, ics_method, kind, rsvp, context,
                              created_at, attempts, next_attempt_at, sent_at, last_error)
  SELECT $7, '', '', '', '', '', r.status, r.id,
         json_build_object('position', CASE WHEN r.status = 'waitlisted' THEN d.waiting + 1 END),
         $11, 0, $11, NULL, ''
  FROM r, d
  RETURNING id
)
SELECT r.id, r.status, d.waiting + 1 AS position, (SELECT count(*) FROM u) + (SELECT count(*) FROM o) AS writes
FROM r, d
"""


async def _fast_rsvp(a: dict, slot_id: int, *, name: str, email: str, guests: int, answers: dict, language: str,
                     now: datetime) -> tuple[dict, bool] | None:
    pool = free_pool()
    if pool is None:
        return None
    code = new_code()

    async def write(conn: Any) -> tuple[Any, None]:
        return await conn.fetchrow(FAST_RSVP, slot_id, a["rsvp_mode"], 1 + guests, a["program"], a["id"], name, email,
                                   json.dumps(answers), code, language[:10], now), None

    try:
        row = await RSVPS.run(write, pool, key=slot_id)
    except asyncpg.UniqueViolationError:
        return None  # a repeat: the careful path returns the existing RSVP
    status = row["status"]
    position = row["position"] if status == "waitlisted" else None
    r = {"id": row["id"], "activity": a["id"], "slot": slot_id, "name": name, "email": email, "guests": guests,
         "status": status, "ticket_code": code, "answers": answers}
    return rsvp_out(r, position=position), True


async def create_rsvp(activity_id: Any, data: dict, *, now: datetime, language: str | None = None) -> tuple[dict, bool]:
    """RSVP, apply or take an invitation, kept in `language` (by default the request's, settled for the
    programme: the guest's choice or browser's, else the programme's default). Returns (rsvp, True), or (REPEAT_ANSWER, False) for an address
    that already holds an active RSVP here: its link is e-mailed to that address again instead."""
    if not isinstance(data, dict):
        raise PlannerError("Send a JSON object with name and email.")
    a = await _open_activity(activity_id, now)
    language = language or i18n.current_language.get()
    name = _name(data)
    email = normalise_email(data.get("email") or "")
    guests = _guests(data, a["max_guests"])
    slot_id = _pick_slot(a, data.get("slot_id"))
    answers: dict = {}
    if a["has_questions"] or data.get("answers"):
        questions = await Question.select().where(Question.activity == a["id"]).order_by(Question.position)
        answers = validate_answers(questions, data.get("answers"), guests)
    invitation = None
    if a["rsvp_mode"] == "invite":
        code = data.get("invite_code")
        if not code:
            raise PlannerError("This dinner is by invitation; use the link in your invitation.", "forbidden", extra={"field": "invite_code"})
        invitation = await Invitation.select().where((Invitation.code == str(code)) & (Invitation.activity == a["id"])).first()
        if not invitation:
            raise PlannerError("That invitation code is not known for this activity.", "not_found", extra={"field": "invite_code"})
    elif is_postgres():
        fast = await _fast_rsvp(a, slot_id, name=name, email=email, guests=guests, answers=answers, language=language, now=now)
        if fast is not None:
            return fast
    party = 1 + guests
    async with write_transaction():
        slot = await locked(Slot.select(Slot.capacity, Slot.confirmed, Slot.waiting, Slot.queue_seq).where(Slot.id == slot_id)).first()
        existing = await Rsvp.select().where(
            (Rsvp.activity == a["id"]) & (Rsvp.email == email) & Rsvp.status.is_in(list(ACTIVE))
        ).first()
        if existing:
            await resend_link(existing["id"], email, now=now)
            return dict(REPEAT_ANSWER), False
        if invitation is not None:
            if invitation["used"]:
                # An invitee who declined may change their mind: the new answer replaces the "no".
                said_no = Rsvp.select(Rsvp.id).where((Rsvp.invitation == invitation["id"]) & (Rsvp.status == "declined") & (Rsvp.cancelled_by == "guest"))
                prior = await said_no.first()
                if not prior:
                    raise PlannerError("This invitation was already used; open your personal link to change your RSVP.", "conflict", extra={"field": "invite_code"})
                await Rsvp.delete().where(Rsvp.id == prior["id"])
            await Invitation.update({Invitation.used: True}).where(Invitation.id == invitation["id"])
        status, queue_seq, position = seats.place(slot, party, by_application=a["rsvp_mode"] == "apply")
        await seats.apply(slot_id, transition(None, status, party=party), queue_seq=queue_seq)
        row = Rsvp(
            program=a["program"], activity=a["id"], slot=slot_id, name=name, email=email, guests=guests,
            status=status, queue_seq=queue_seq, answers=answers, ticket_code=new_code(),
            invitation=invitation["id"] if invitation else None, language=language[:10],
            created_at=now, updated_at=now, waitlisted_at=now if status == "waitlisted" else None,
            sequence=1,  # the first message below is its first change (see rsvps.notices), counted here
        )
        inserted = await Rsvp.insert(row).returning(Rsvp.id)
        rid = inserted[0]["id"]
        await OutboxMessage.insert(message_row(kind=status, to=email, rsvp_id=rid, context={"position": position}, now=now))
    r = {**row.to_dict(), "id": rid, "program": a["program"], "activity": a["id"], "slot": slot_id}
    return rsvp_out(r, position=position), True


# A repeat RSVP by an address that already holds a place answers this, whoever sent it: never that
# RSVP's link, ticket, name or answers. The guest's own link goes to their inbox instead.
REPEAT_ANSWER = {
    "status": "check_email",
    "detail": "This e-mail address already has a place here. We have e-mailed its personal link to that "
              "address again; open it from there to see or change the RSVP.",
}
RESEND_EVERY = timedelta(minutes=5)


async def resend_link(rsvp_id: int, email: str, *, now: datetime) -> bool:
    """E-mail a guest's own link again, at most once per RESEND_EVERY per RSVP. The conditional
    update decides, so concurrent repeats send one message. True when a message was queued."""
    since = now - RESEND_EVERY
    done = await Rsvp.update({Rsvp.link_resent_at: now}).where(
        (Rsvp.id == rsvp_id) & (Rsvp.link_resent_at.is_null() | (Rsvp.link_resent_at < since))
    ).returning(Rsvp.id)
    if not done:
        return False
    await enqueue(kind="link_resent", to=email, rsvp_id=rsvp_id, now=now)
    return True


async def guest_rsvp(rsvp_id: Any, token: str | None) -> dict:
    """The RSVP behind a personal link; a wrong token looks exactly like an unknown id."""
    try:
        rid = int(rsvp_id)
    except (TypeError, ValueError):
        raise not_found("That RSVP") from None
    if not check_rsvp_token(rid, token):
        raise PlannerError("This link is not valid. Open the link from your email again.", "not_found")
    r = await Rsvp.select().where(Rsvp.id == rid).first()
    if not r or r["email"].endswith("@" + ERASED_DOMAIN):
        raise not_found("That RSVP")
    return r


async def get_guest_rsvp(rsvp_id: Any, token: str | None) -> dict:
    r = await guest_rsvp(rsvp_id, token)
    return rsvp_out(r, position=await waitlist_position(r), include_answers=True)


async def cancel_guest(rsvp_id: Any, token: str | None, *, now: datetime) -> dict:
    r0 = await guest_rsvp(rsvp_id, token)
    return await _cancel(r0["id"], now=now, by_guest=True)


async def _cancel(rsvp_id: int, *, now: datetime, by_guest: bool, reason: str = "") -> dict:
    async with write_transaction():
        r = await Rsvp.select().where(Rsvp.id == rsvp_id).first()
        await locked(Slot.select(Slot.id, Slot.capacity, Slot.confirmed).where(Slot.id == r["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == rsvp_id).first()  # re-read under the lock
        if r["status"] in ("cancelled", "declined"):
            return rsvp_out(r)
        await seats.apply(r["slot"], transition(r["status"], None, party=1 + r["guests"]))
        await Rsvp.update({Rsvp.status: "cancelled", Rsvp.queue_seq: None, Rsvp.updated_at: now, Rsvp.note: reason,
                           Rsvp.cancelled_by: "guest" if by_guest else "organizer"}).where(Rsvp.id == r["id"])
        await enqueue(kind="cancelled", to=r["email"], rsvp_id=r["id"], context={"by_guest": by_guest, "reason": reason}, now=now)
        if r["status"] in HOLDS_SEAT:
            await fill_freed_seats(r["slot"], now=now)
    return rsvp_out({**r, "status": "cancelled"})


async def change_guests(rsvp_id: Any, token: str | None, guests: Any, *, now: datetime) -> dict:
    r0 = await guest_rsvp(rsvp_id, token)
    a = await Activity.select(Activity.max_guests).where(Activity.id == r0["activity"]).first()
    new = _guests({"guests": guests}, a["max_guests"])
    async with write_transaction():
        slot = await locked(Slot.select(Slot.capacity, Slot.confirmed).where(Slot.id == r0["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] not in ACTIVE:
            raise PlannerError("This RSVP is no longer active.", "closed")
        diff = new - r["guests"]
        if r["status"] in HOLDS_SEAT and diff > 0 and slot["confirmed"] + diff > slot["capacity"]:
            left = slot["capacity"] - slot["confirmed"]
            raise PlannerError(
                _nl("Only {n} more seat left; you can bring at most {most}.", "Only {n} more seats left; you can bring at most {most}.",
                    left, most=r["guests"] + max(0, left)),
                "conflict", extra={"field": "guests"},
            )
        await Rsvp.update({Rsvp.guests: new, Rsvp.updated_at: now}).where(Rsvp.id == r["id"])
        await seats.apply(r["slot"], transition(r["status"], r["status"], party=1 + r["guests"], new_party=1 + new))
        if r["status"] in HOLDS_SEAT and diff:
            if diff < 0:
                await fill_freed_seats(r["slot"], now=now)
    r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
    return rsvp_out(r, position=await waitlist_position(r))


async def accept_offer(rsvp_id: Any, token: str | None, *, now: datetime) -> dict:
    r0 = await guest_rsvp(rsvp_id, token)
    async with write_transaction():
        await locked(Slot.select(Slot.id).where(Slot.id == r0["slot"]))
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] == "confirmed":
            return rsvp_out(r)
        if r["status"] != "offered":
            raise PlannerError("There is no open offer on this RSVP.", "conflict")
        if r["offer_expires_at"] and r["offer_expires_at"] < now:
            raise PlannerError("This offer has expired and passed to the next person.", "gone")
        # The seat was already held for the offer; accepting only changes the status.
        await Rsvp.update({Rsvp.status: "confirmed", Rsvp.offer_expires_at: None, Rsvp.updated_at: now}).where(Rsvp.id == r["id"])
        await enqueue(kind="confirmed", to=r["email"], rsvp_id=r["id"], context={"accepted_offer": True}, now=now)
    return rsvp_out({**r, "status": "confirmed"})
