"""RSVPs, invitations, applications, waitlists and promotion.

Seat counts live on the slot row (`confirmed` people incl. plus-ones and held offers,
`waiting` RSVPs, `queue_seq` the last waitlist number). Every change that moves them
runs in `write_transaction()` with the slot row locked, so a slot is never oversold and
the waitlist is first come, first served; a test checks the counters against the rows.
"""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from planner.accounts.rules import normalise_email
from planner.audit.rules import record
from planner.db import free_pool, is_postgres, locked, raw, slot_lock, write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import SafeCsvWriter, csv_rows, loads
from planner.i18n import _l, _nl
from planner.inputs import check_text
from planner.outbox.rules import message_row
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.rsvps import seats
from planner.rsvps.notices import enqueue, enqueue_many
from planner.rsvps.seats import ACTIVE, HOLDS_SEAT, Change, Status, transition
from planner.rsvps.tables import ERASED_DOMAIN, Invitation, Question, Rsvp
from planner.scheduling.tables import Activity, Slot
from planner.settings import get_settings
from planner.terms import Term
from planner.tokens import check_rsvp_token, new_code, rsvp_token

MAX_CSV_ROWS = 5000


# ---------------------------------------------------------------- shapes

def urls(rsvp_id: int) -> dict:
    base = get_settings().base_url
    t = rsvp_token(rsvp_id)
    return {
        "manage_url": f"{base}/r/{rsvp_id}?token={t}",
        "invite_ics_url": f"{base}/r/{rsvp_id}/invite.ics?token={t}",
        "qr_png_url": f"{base}/r/{rsvp_id}/qr.png?token={t}",
        "qr_svg_url": f"{base}/r/{rsvp_id}/qr.svg?token={t}",
        "token": t,
    }


def rsvp_out(r: dict, *, position: int | None = None, include_answers: bool = False) -> dict:
    u = urls(r["id"])
    out: dict[str, Any] = {
        "id": r["id"],
        "activity_id": r["activity"],
        "slot_id": r["slot"],
        "name": r["name"],
        "email": r["email"],
        "guests": r["guests"],
        "party": 1 + r["guests"],
        "status": r["status"],
        "manage_url": u["manage_url"],
        "invite_ics_url": u["invite_ics_url"],
    }
    if r["status"] == "waitlisted":
        out["waitlist_position"] = position
    if r["status"] == "offered" and r.get("offer_expires_at"):
        out["offer_expires_at"] = r["offer_expires_at"].isoformat()
    if r["status"] == "confirmed":
        out["ticket"] = {"code": r["ticket_code"], "qr_png_url": u["qr_png_url"], "qr_svg_url": u["qr_svg_url"], "admits": 1 + r["guests"]}
    if include_answers:
        out["answers"] = loads(r["answers"])
    return out


async def waitlist_position(r: dict) -> int | None:
    if r["status"] != "waitlisted" or r["queue_seq"] is None:
        return None
    return await Rsvp.count().where(
        (Rsvp.slot == r["slot"]) & (Rsvp.status == "waitlisted") & (Rsvp.queue_seq <= r["queue_seq"])
    )


# ---------------------------------------------------------------- validation

def _name(data: dict) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PlannerError("Please give a name.", extra={"field": "name"})
    name = " ".join(name.split())
    if len(name) > 200:
        raise PlannerError("The name can be at most 200 characters.", extra={"field": "name"})
    return name


def _guests(data: dict, max_guests: int) -> int:
    g = data.get("guests", 0)
    if g in (None, ""):
        g = 0
    if isinstance(g, bool):
        raise PlannerError("guests must be a whole number.", extra={"field": "guests"})
    try:
        g = int(g)
    except (TypeError, ValueError) as exc:
        raise PlannerError("guests must be a whole number.", extra={"field": "guests"}) from exc
    if g < 0:
        raise PlannerError("guests cannot be negative.", extra={"field": "guests"})
    if g > max_guests:
        if max_guests == 0:
            raise PlannerError("This activity does not allow plus-ones.", extra={"field": "guests"})
        raise PlannerError(_nl("You can bring at most {n} plus-one.", "You can bring at most {n} plus-ones.", max_guests), extra={"field": "guests"})
    return g


def validate_answers(questions: list[dict], answers: Any, guests: int) -> dict:
    if answers in (None, ""):
        answers = {}
    if not isinstance(answers, dict):
        raise PlannerError("answers must be an object of question id to answer.", extra={"field": "answers"})
    by_id = {str(q["id"]): q for q in questions}
    clean: dict[str, Any] = {}
    for key, value in answers.items():
        if key == "plus_ones":
            continue
        if key not in by_id:
            raise PlannerError(_l("There is no question {key} for this activity.", key=key), extra={"field": "answers"})
        clean[key] = _answer(by_id[key], value)
    for q in questions:
        if q["required"] and str(q["id"]) not in clean:
            raise PlannerError(_l("Please answer: {question}", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    per_guest = [q for q in questions if q["per_guest"]]
    plus = answers.get("plus_ones") or []
    if plus:
        if not isinstance(plus, list) or len(plus) > guests:
            raise PlannerError("plus_ones answers must be a list with one entry per plus-one.", extra={"field": "answers"})
        ids = {str(q["id"]): q for q in per_guest}
        cleaned = []
        for entry in plus:
            if not isinstance(entry, dict):
                raise PlannerError("Each plus-one's answers must be an object.", extra={"field": "answers"})
            one = {}
            for key, value in entry.items():
                if key not in ids:
                    raise PlannerError(_l("Question {key} is not asked per plus-one.", key=key), extra={"field": "answers"})
                one[key] = _answer(ids[key], value)
            cleaned.append(one)
        clean["plus_ones"] = cleaned
    return clean


def _answer(q: dict, value: Any) -> Any:
    kind = q["kind"]
    if kind == "yesno":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false", "on", "off"):
            return value.lower() in ("yes", "true", "on")
        raise PlannerError(_l("Answer yes or no to: {question}", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    if not isinstance(value, str):
        raise PlannerError(_l("The answer to “{question}” must be text.", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    value = value.strip()
    if kind == "choice":
        choices = loads(q["choices"]) or []
        if value not in choices:
            raise PlannerError(_l("Pick one of the offered answers to: {question}", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    if len(value) > 2000:
        raise PlannerError("An answer can be at most 2,000 characters.", extra={"field": "answers"})
    return value


ACTIVITY_READ = """
SELECT a.id, a.program, a.kind, a.rsvp_mode, a.max_guests, a.published, a.cancelled_at, a.rsvp_deadline,
       a.title, a.ends_at, a.promotion, a.hold_hours,
       (SELECT {slots} FROM (SELECT id FROM slot WHERE activity = a.id ORDER BY starts_at, id) AS ordered) AS slot_ids,
       EXISTS (SELECT 1 FROM question q WHERE q.activity = a.id) AS has_questions
FROM activity a WHERE a.id = {{}}
"""


async def _open_activity(activity_id: Any, now: datetime) -> dict:
    """The activity, its slot ids and whether it asks questions: one read, refused if not open."""
    try:
        aid = int(activity_id)
    except (TypeError, ValueError):
        raise not_found("That activity") from None
    agg = "array_agg(id)" if is_postgres() else "group_concat(id)"
    rows = await raw(ACTIVITY_READ.format(slots=agg), aid)
    a = rows[0] if rows else None
    if not a or not a["published"]:
        raise not_found("That activity")
    ids = a["slot_ids"]
    a["slot_ids"] = [int(x) for x in (ids.split(",") if isinstance(ids, str) else ids or [])]
    for key in ("cancelled_at", "rsvp_deadline", "ends_at"):
        a[key] = _aware(a[key])
    if a["cancelled_at"] is not None:
        raise PlannerError("This activity was cancelled.", "closed")
    if a["rsvp_deadline"] is not None and now > a["rsvp_deadline"]:
        raise PlannerError("RSVPs for this activity have closed.", "closed")
    if now >= a["ends_at"]:
        raise PlannerError("This activity is over.", "closed")
    return a


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


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
                    invitation, language, offer_expires_at, note, created_at, updated_at, waitlisted_at)
  SELECT $4, $5, d.id, $6, $7, $3 - 1, d.status,
         CASE WHEN d.status = 'waitlisted' THEN d.queue_seq + 1 END,
         $8::json, $9, NULL, $10, NULL, '', $11, $11, CASE WHEN d.status = 'waitlisted' THEN $11::timestamptz END
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
    try:
        async with slot_lock(slot_id), pool.acquire() as conn:
            row = await conn.fetchrow(FAST_RSVP, slot_id, a["rsvp_mode"], 1 + guests, a["program"], a["id"], name, email,
                                      json.dumps(answers), code, language[:10], now)
    except asyncpg.UniqueViolationError:
        return None  # a repeat: the careful path returns the existing RSVP
    status = row["status"]
    position = row["position"] if status == "waitlisted" else None
    r = {"id": row["id"], "activity": a["id"], "slot": slot_id, "name": name, "email": email, "guests": guests,
         "status": status, "ticket_code": code, "answers": answers}
    return rsvp_out(r, position=position), True


async def create_rsvp(activity_id: Any, data: dict, *, now: datetime, language: str = "en") -> tuple[dict, bool]:
    """RSVP, apply or take an invitation. Returns (rsvp, True), or (REPEAT_ANSWER, False) for an address
    that already holds an active RSVP here: its link is e-mailed to that address again instead."""
    if not isinstance(data, dict):
        raise PlannerError("Send a JSON object with name and email.")
    a = await _open_activity(activity_id, now)
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
        position = None
        queue_seq = None
        if a["rsvp_mode"] == "apply":
            status = Status.APPLIED
        elif seats.fits(slot, party):
            status = Status.CONFIRMED
        else:
            status = Status.WAITLISTED
            queue_seq = slot["queue_seq"] + 1
            position = slot["waiting"] + 1
        await seats.apply(slot_id, transition(None, status, party=party), queue_seq=queue_seq)
        row = Rsvp(
            program=a["program"], activity=a["id"], slot=slot_id, name=name, email=email, guests=guests,
            status=status, queue_seq=queue_seq, answers=answers, ticket_code=new_code(),
            invitation=invitation["id"] if invitation else None, language=language[:10],
            created_at=now, updated_at=now, waitlisted_at=now if status == "waitlisted" else None,
        )
        inserted = await Rsvp.insert(row).returning(Rsvp.id)
        rid = inserted[0]["id"]
        await enqueue(kind=status, to=email, rsvp_id=rid, context={"position": position}, now=now)
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


async def _release(r: dict, slot: dict) -> None:
    """Take an RSVP's seat or waitlist place off the slot's counters."""
    await seats.apply(r["slot"], transition(r["status"], None, party=1 + r["guests"]))


async def cancel_guest(rsvp_id: Any, token: str | None, *, now: datetime) -> dict:
    r0 = await guest_rsvp(rsvp_id, token)
    return await _cancel(r0["id"], now=now, by_guest=True)


async def _cancel(rsvp_id: int, *, now: datetime, by_guest: bool, reason: str = "") -> dict:
    async with write_transaction():
        r = await Rsvp.select().where(Rsvp.id == rsvp_id).first()
        slot = await locked(Slot.select(Slot.id, Slot.capacity, Slot.confirmed).where(Slot.id == r["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == rsvp_id).first()  # re-read under the lock
        if r["status"] in ("cancelled", "declined"):
            return rsvp_out(r)
        await _release(r, slot)
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


# ---------------------------------------------------------------- promotion

async def fill_freed_seats(slot_id: int, *, now: datetime) -> list[int]:
    """Give free seats to the first waitlisted parties that fit. Call inside write_transaction with the slot locked."""
    slot = await Slot.select(Slot.capacity, Slot.confirmed, Slot.activity.promotion, Slot.activity.hold_hours, Slot.activity.kind).where(Slot.id == slot_id).first()
    free = slot["capacity"] - slot["confirmed"]
    if free <= 0:
        return []
    offer = slot["activity.promotion"] == "offer" and slot["activity.kind"] in ("dinner", "residency")
    waiting = await Rsvp.select(Rsvp.id, Rsvp.guests, Rsvp.email).where(
        (Rsvp.slot == slot_id) & (Rsvp.status == "waitlisted")
    ).order_by(Rsvp.queue_seq).limit(500)
    promoted, taken = [], 0
    for w in waiting:
        party = 1 + w["guests"]
        if party > free - taken:
            continue
        taken += party
        promoted.append(w)
        if free - taken <= 0:
            break
    if not promoted:
        return []
    ids = [w["id"] for w in promoted]
    seated = Status.OFFERED if offer else Status.CONFIRMED
    values: dict = {Rsvp.status: seated, Rsvp.queue_seq: None, Rsvp.updated_at: now, Rsvp.promoted_at: now}
    if offer:
        values[Rsvp.offer_expires_at] = now + timedelta(hours=slot["activity.hold_hours"])
    await Rsvp.update(values).where(Rsvp.id.is_in(ids))
    change = Change()
    for w in promoted:
        change = change + transition(Status.WAITLISTED, seated, party=1 + w["guests"])
    await seats.apply(slot_id, change)
    await enqueue_many([
        message_row(kind="offered" if offer else "promoted", to=w["email"], rsvp_id=w["id"], now=now) for w in promoted
    ])
    return ids


async def expire_offers(*, now: datetime) -> int:
    """Offers past their hold pass to the next in line. Run by the background worker."""
    due = await Rsvp.select(Rsvp.id, Rsvp.slot).where((Rsvp.status == "offered") & (Rsvp.offer_expires_at < now)).limit(200)
    for d in due:
        async with write_transaction():
            await locked(Slot.select(Slot.id).where(Slot.id == d["slot"]))
            r = await Rsvp.select().where(Rsvp.id == d["id"]).first()
            if r["status"] != "offered" or not r["offer_expires_at"] or r["offer_expires_at"] >= now:
                continue
            await _release(r, {})
            await Rsvp.update({Rsvp.status: "declined", Rsvp.offer_expires_at: None, Rsvp.note: "Offer expired", Rsvp.updated_at: now}).where(Rsvp.id == r["id"])
            await enqueue(kind="offer_expired", to=r["email"], rsvp_id=r["id"], now=now)
            await fill_freed_seats(r["slot"], now=now)
    return len(due)


# ---------------------------------------------------------------- organizer actions

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
        slot = await locked(Slot.select(Slot.id).where(Slot.id == r0["slot"])).first()
        r = await Rsvp.select().where(Rsvp.id == r0["id"]).first()
        if r["status"] in ("declined", "cancelled"):
            return rsvp_out(r)
        await _release(r, slot)
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


def _int_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise not_found("That activity") from None


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


# ---------------------------------------------------------------- invitations

async def invite(activity_id: Any, data: dict, *, user: dict | None, now: datetime) -> dict:
    a = await Activity.select().where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    if a["cancelled_at"] is not None:
        raise PlannerError("This activity was cancelled.", "closed")
    name = _name(data)
    email = normalise_email(data.get("email") or "")
    async with write_transaction():
        existing = await Invitation.select().where((Invitation.activity == a["id"]) & (Invitation.email == email)).first()
        if existing:
            return _invitation_out(existing, created=False)
        inv = Invitation(program=a["program"], activity=a["id"], name=name, email=email, code=new_code(), created_at=now)
        await inv.save()
        await enqueue(kind="invitation", to=email, context={"invitation_id": inv.id, "activity_id": a["id"]}, now=now)
    return _invitation_out(inv.to_dict(), created=True)


def _invitation_out(inv: dict, *, created: bool) -> dict:
    base = get_settings().base_url
    return {
        "id": inv["id"], "name": inv["name"], "email": inv["email"], "invite_code": inv["code"],
        "url": f"{base}/a/{inv['activity']}?invite={inv['code']}", "used": inv["used"], "created": created,
    }


async def list_invitations(activity_id: Any, *, user: dict | None) -> list[dict]:
    a = await Activity.select(Activity.id, Activity.program).where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    rows = await Invitation.select().where(Invitation.activity == a["id"]).order_by(Invitation.id)
    return [_invitation_out(r, created=False) for r in rows]


def parse_invite_csv(text: str) -> tuple[list[dict], list[dict]]:
    """Rows of name,email (a header row is optional). Returns (good rows, problems with line numbers)."""
    good, problems, seen = [], [], set()
    for lineno, row in csv_rows(text):
        if not row or not any(c.strip() for c in row):
            continue
        if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["name", "email"]:
            continue
        if len(row) < 2:
            problems.append({"line": lineno, "row": ",".join(row), "error": _l("Expected two columns: name, email.")})
            continue
        name, email = row[0].strip(), row[1].strip()
        try:
            check_text(name, "name")  # a quoted cell may hold a line break or a control character
            email = normalise_email(email)
            if not name:
                raise PlannerError("The name is empty.")
        except PlannerError as exc:
            problems.append({"line": lineno, "row": ",".join(row), "error": exc.text})
            continue
        if email in seen:
            problems.append({"line": lineno, "row": ",".join(row), "error": _l("{email} appears twice in the list.", email=email)})
            continue
        seen.add(email)
        good.append({"name": name, "email": email, "line": lineno})
        if len(good) > MAX_CSV_ROWS:
            raise PlannerError(_l("A list can have at most {n} rows; split it.", n=MAX_CSV_ROWS))
    return good, problems


async def invite_many(activity_id: Any, text: str, *, user: dict | None, now: datetime) -> dict:
    good, problems = parse_invite_csv(text)
    created, existing = [], []
    for row in good:
        inv = await invite(activity_id, row, user=user, now=now)
        (created if inv["created"] else existing).append(inv)
    for inv in existing:
        problems.append({"line": None, "row": inv["email"], "error": _l("{email} was already invited.", email=inv["email"])})
    return {"created": len(created), "already_invited": len(existing), "problems": problems, "invitations": created}


# ---------------------------------------------------------------- questions

async def add_question(activity_id: Any, data: dict, *, user: dict | None) -> dict:
    a = await Activity.select(Activity.id, Activity.program).where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    label = (data.get("label") or "").strip()
    if not label or len(label) > 300:
        raise PlannerError("A question needs a label of at most 300 characters.", extra={"field": "label"})
    kind = data.get("kind") or "text"
    if kind not in ("text", "choice", "yesno"):
        raise PlannerError("kind must be text, choice or yesno.", extra={"field": "kind"})
    choices = data.get("choices") or []
    if isinstance(choices, str):
        choices = [c.strip() for c in choices.split("\n") if c.strip()]
    if kind == "choice" and (not isinstance(choices, list) or len(choices) < 2):
        raise PlannerError("A choice question needs at least two choices.", extra={"field": "choices"})
    count = await Question.count().where(Question.activity == a["id"])
    q = Question(
        activity=a["id"], label=label, kind=kind, choices=choices if kind == "choice" else [],
        sensitive=bool(data.get("sensitive")), per_guest=bool(data.get("per_guest")),
        required=bool(data.get("required")), position=count,
    )
    await q.save()
    return question_out(q.to_dict())


def question_out(q: dict) -> dict:
    out = {k: q[k] for k in ("id", "label", "kind", "sensitive", "per_guest", "required", "position")}
    out["choices"] = loads(q["choices"]) or []
    return out


async def questions_for(activity_id: int) -> list[dict]:
    return [question_out(q) for q in await Question.select().where(Question.activity == activity_id).order_by(Question.position)]


# ---------------------------------------------------------------- activity-wide changes (called by scheduling)

async def notify_activity_changed(activity_id: int, *, now: datetime) -> None:
    rows = await Rsvp.select(Rsvp.id, Rsvp.email).where((Rsvp.activity == activity_id) & Rsvp.status.is_in(list(HOLDS_SEAT)))
    if rows:
        await enqueue_many([message_row(kind="activity_changed", to=r["email"], rsvp_id=r["id"], now=now) for r in rows])


async def notify_activity_cancelled(activity_id: int, *, reason: str, now: datetime, send_at: datetime | None = None) -> None:
    rows = await Rsvp.select(Rsvp.id, Rsvp.email, Rsvp.status).where((Rsvp.activity == activity_id) & Rsvp.status.is_in(list(ACTIVE)))
    if rows:
        await enqueue_many([
            message_row(kind="activity_cancelled", to=r["email"], rsvp_id=r["id"], context={"reason": reason, "was": r["status"]},
                        now=now, send_at=send_at)
            for r in rows
        ])


async def program_of_rsvp(rsvp_id: int) -> dict:
    r = await Rsvp.select(Rsvp.program).where(Rsvp.id == rsvp_id).first()
    return await Program.select().where(Program.id == r["program"]).first()
