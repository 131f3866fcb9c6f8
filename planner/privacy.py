"""A guest's own data: download it, erase it; sensitive answers purged after the programme ends."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from planner.audit.rules import record
from planner.calendar.when import format_days, rsvp_days
from planner.care.rules import erase_sender
from planner.care.rules import purge as purge_care_messages
from planner.db import write_transaction
from planner.fields import loads
from planner.outbox.tables import OutboxMessage
from planner.programs.tables import Program
from planner.rsvps.booking import _cancel, guest_rsvp
from planner.rsvps.seats import ACTIVE
from planner.rsvps.tables import ERASED_DOMAIN, ERASED_NAME, Invitation, Question, Rsvp, erased_email
from planner.tokens import new_code


async def export_guest_data(rsvp_id: Any, token: str | None) -> dict:
    """Everything stored about this guest across the programme, keyed by their email."""
    r0 = await guest_rsvp(rsvp_id, token)
    rows = await Rsvp.select(
        Rsvp.id, Rsvp.name, Rsvp.email, Rsvp.guests, Rsvp.status, Rsvp.answers, Rsvp.created_at, Rsvp.updated_at,
        Rsvp.slot, Rsvp.activity.id, Rsvp.activity.kind, Rsvp.activity.title, Rsvp.program.timezone,
    ).where((Rsvp.program == r0["program"]) & (Rsvp.email == r0["email"])).order_by(Rsvp.id)
    labels = {str(q["id"]): q["label"] for q in await Question.select(Question.id, Question.label).where(
        Question.activity.program == r0["program"])}
    out = []
    for x in rows:
        answers = loads(x["answers"]) or {}
        # The guest's own times (their slot, or each day of a residency), in the programme's zone and their language.
        days = await rsvp_days(x)
        zone = ZoneInfo(x["program.timezone"])
        out.append({
            "activity": x["activity.title"], "starts_at": days[0]["starts_at"].astimezone(zone).isoformat(),
            "ends_at": days[-1]["ends_at"].astimezone(zone).isoformat(),
            "times": [{"starts_at": d["starts_at"].astimezone(zone).isoformat(),
                       "ends_at": d["ends_at"].astimezone(zone).isoformat()} for d in days],
            "when": format_days(days, x["program.timezone"], r0["language"]), "status": x["status"],
            "name": x["name"], "email": x["email"], "plus_ones": x["guests"],
            "answers": {labels.get(k, k): v for k, v in answers.items()},
            "created_at": x["created_at"].isoformat(), "updated_at": x["updated_at"].isoformat(),
        })
    return {"rsvps": out}


async def erase_guest(rsvp_id: Any, token: str | None, *, now: datetime) -> None:
    """Cancel the guest's active RSVPs in the programme (freeing seats for the waitlist), then leave no row
    that names them: RSVPs, invitations and every outbox message to them (sent or not) are anonymised;
    counts stay for reports. The old link, ticket, invite and feed stop working (404)."""
    r0 = await guest_rsvp(rsvp_id, token)
    email = r0["email"]
    rows = await Rsvp.select(Rsvp.id, Rsvp.status).where((Rsvp.program == r0["program"]) & (Rsvp.email == email))
    for x in rows:
        if x["status"] in ACTIVE:
            await _cancel(x["id"], now=now, by_guest=True, reason="erased by the guest")
    ids = [x["id"] for x in rows]
    # One placeholder for all of the guest's RSVPs, so that reports still count them as one person.
    placeholder = erased_email(min(ids))
    async with write_transaction():
        for rid in ids:
            # A fresh ticket code too: the old QR must not admit anyone.
            await Rsvp.update({
                Rsvp.name: ERASED_NAME, Rsvp.email: placeholder, Rsvp.answers: {}, Rsvp.note: "",
                Rsvp.ticket_code: new_code(), Rsvp.updated_at: now,
            }).where(Rsvp.id == rid)
        invitations = await Invitation.select(Invitation.id).where(
            (Invitation.program == r0["program"]) & (Invitation.email == email))
        for inv in invitations:
            await Invitation.update({Invitation.name: ERASED_NAME, Invitation.email: erased_email(inv["id"], "invitation"),
                                     Invitation.used: True}).where(Invitation.id == inv["id"])
        # What they wrote to the care team goes with them.
        await erase_sender(r0["program"], email)
        # Unsent mail has nothing left to say; sent mail keeps only that a message of its kind went out.
        await OutboxMessage.delete().where(
            ((OutboxMessage.to_addr == email) | OutboxMessage.rsvp.is_in(ids)) & OutboxMessage.sent_at.is_null())
        await OutboxMessage.update({
            OutboxMessage.to_addr: f"erased@{ERASED_DOMAIN}", OutboxMessage.subject: "", OutboxMessage.body_text: "",
            OutboxMessage.body_html: "", OutboxMessage.ics: "", OutboxMessage.context: {}, OutboxMessage.last_error: "",
        }).where((OutboxMessage.to_addr == email) | OutboxMessage.rsvp.is_in(ids))
        await record("guest_erased", now=now, program_id=r0["program"], subject=f"{len(ids)} RSVP(s)",
                     detail="erased by the guest from their personal link")


async def purge_sensitive_answers(*, now: datetime, retention_days: int) -> int:
    """Drop answers to sensitive questions once a programme ended more than retention_days ago.
    Messages to the care team go by the same rule, at the same time."""
    await purge_care_messages(now=now, retention_days=retention_days)
    cutoff = (now - timedelta(days=retention_days)).date()
    programs = [p["id"] for p in await Program.select(Program.id).where(Program.ends_on < cutoff)]
    if not programs:
        return 0
    sensitive = await Question.select(Question.id, Question.activity).where(
        (Question.sensitive == True) & Question.activity.program.is_in(programs)  # noqa: E712
    )
    by_activity: dict[int, set[str]] = {}
    for q in sensitive:
        by_activity.setdefault(q["activity"], set()).add(str(q["id"]))
    changed = 0
    for activity_id, ids in by_activity.items():
        rows = await Rsvp.select(Rsvp.id, Rsvp.answers).where(Rsvp.activity == activity_id)
        for x in rows:
            answers = loads(x["answers"]) or {}
            kept = {k: v for k, v in answers.items() if k not in ids and k != "plus_ones"}
            if kept != answers:
                await Rsvp.update({Rsvp.answers: kept}).where(Rsvp.id == x["id"])
                changed += 1
    return changed
