"""Talk to the care team: a guest's private message goes to the programme's care address through the
outbox and is kept in a care inbox that only the programme's organizers and its `care` role open.

Each opening of the inbox is audited. Staff never see it, other programmes never see it. Messages (and
the outbox rows that carried them) are purged with the sensitive answers, a retention period after the
programme ends, and when the guest erases their data.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from planner.accounts.rules import normalise_email
from planner.audit.rules import record
from planner.care.tables import CareMessage, CareSetting
from planner.db import locked, write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import loads
from planner.i18n import LazyText, _, _l, program_default, translations
from planner.outbox.rules import message_row
from planner.outbox.tables import OutboxMessage
from planner.programs.rules import require_role
from planner.programs.tables import Membership, Program
from planner.rsvps.booking import guest_rsvp
from planner.rsvps.tables import Rsvp

INBOX_ROLES = ("organizer", "care")
MAX_MESSAGE = 4000
MAX_CONTACT = 300
# Per guest (their email in the programme): a few messages, not a flood.
SENDER_LIMITS = ((timedelta(minutes=10), 3), (timedelta(days=1), 10))
# Per client address on the public page: looser, since a festival's Wi-Fi puts many guests behind one address.
CLIENT_LIMITS = ((timedelta(minutes=10), 10), (timedelta(days=1), 50))
# The public page has no token, so the whole programme also has a daily ceiling there.
PUBLIC_DAILY = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def sender_key(secret: str, *parts: object) -> str:
    """A keyed hash that names a sender for the rate limit without storing who or where they are."""
    return hashlib.sha256(":".join([secret, "care", *map(str, parts)]).encode()).hexdigest()[:40]


def _text(value: object, *, label: LazyText, limit: int, required: bool, one_line: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise PlannerError(_l("{label} must be text.", label=label))
    value = value.replace("\r\n", "\n").strip()
    if required and not value:
        raise PlannerError(_l("Write a message first: the message is empty."), extra={"field": "message"})
    if len(value) > limit:
        raise PlannerError(_l("{label} can be at most {max_len} characters.", label=label, max_len=limit))
    if _CONTROL.search(value) or (one_line and "\n" in value):
        raise PlannerError(_l("{label} contains control characters.", label=label))
    return value


# ---------------------------------------------------------------- where messages go

async def care_address(program_id: int) -> str:
    row = await CareSetting.select(CareSetting.address).where(CareSetting.program == program_id).first()
    return row["address"] if row else ""


async def recipients(program_id: int) -> list[str]:
    """The care address, or every organizer when none is set."""
    address = await care_address(program_id)
    if address:
        return [address]
    rows = await Membership.select(Membership.user.email).where(
        (Membership.program == program_id) & (Membership.role == "organizer")
    ).order_by(Membership.user.email)
    return [r["user.email"] for r in rows]


async def settings_of(program_id: int, *, user: dict | None) -> dict:
    await require_role(user, program_id, "organizer")
    return {"address": await care_address(program_id), "recipients": await recipients(program_id)}


async def set_address(program_id: int, address: str | None, *, user: dict | None) -> dict:
    """The programme's care address; empty sends care messages to the organizers."""
    await require_role(user, program_id, "organizer")
    address = _text(address, label=_l("The care address"), limit=254, required=False, one_line=True)
    address = normalise_email(address) if address else ""
    async with write_transaction():
        if await CareSetting.exists().where(CareSetting.program == program_id):
            await CareSetting.update({CareSetting.address: address}).where(CareSetting.program == program_id)
        else:
            await CareSetting.insert(CareSetting(program=program_id, address=address))
    return await settings_of(program_id, user=user)


# ---------------------------------------------------------------- sending

def _retry_after(oldest: datetime, window: timedelta, now: datetime) -> int:
    return max(1, int((oldest + window - now).total_seconds()) + 1)


async def _check_limits(program_id: int, key: str, *, now: datetime, public: bool) -> None:
    for window, limit in (CLIENT_LIMITS if public else SENDER_LIMITS):
        recent = await CareMessage.select(CareMessage.created_at).where(
            (CareMessage.program == program_id) & (CareMessage.sender_key == key) & (CareMessage.created_at > now - window)
        ).order_by(CareMessage.created_at)
        if len(recent) >= limit:
            raise PlannerError("You have sent several messages just now. The care team has them; please wait a little before "
                               "sending another. If you are in danger, call the emergency number.", "throttled",
                               extra={"retry_after": _retry_after(recent[-limit]["created_at"], window, now)})
    if public:
        day = timedelta(days=1)
        recent = await CareMessage.select(CareMessage.created_at).where(
            (CareMessage.program == program_id) & CareMessage.rsvp.is_null() & (CareMessage.created_at > now - day)
        ).order_by(CareMessage.created_at)
        if len(recent) >= PUBLIC_DAILY:
            raise PlannerError("The care team has received many messages from this page today. Please use the link in your "
                               "confirmation email, or call the emergency number if you are in danger.", "throttled",
                               extra={"retry_after": _retry_after(recent[-PUBLIC_DAILY]["created_at"], day, now)})


def _mail(program: dict, *, name: str, email: str, contact: str, activity: str, message: str, inbox_url: str,
          retention_days: int) -> tuple[str, str]:
    t = translations(program_default(program["languages"])).gettext
    # The subject says nothing about the message: mailboxes show subjects to whoever glances at them.
    subject = t(_("A message for the care team · {programme}")).format(programme=program["name"])
    if email:
        lines = [t(_("{name} ({email}) wrote to the care team:")).format(name=name, email=email)]
    else:
        lines = [t(_("Someone wrote to the care team from the public programme page."))]
        lines.append(t(_("How to reach them: {contact}")).format(contact=contact) if contact
                     else t(_("They left no way to reach them.")))
    if activity:
        lines.append(t(_("Their activity: {title}")).format(title=activity))
    lines += ["", message, ""]
    if email:
        lines.append(t(_("Reply to them at {email}.")).format(email=email))
    lines += [
        t(_("Every message is also kept in the care inbox: {url}")).format(url=inbox_url),
        t(_("Only the programme's organizers and care team can open it. It is deleted {days} days after the programme ends.")).format(days=retention_days),
    ]
    return subject, "\n".join(lines)


async def _send(program_id: int, *, rsvp_id: int | None, name: str, email: str, contact: str, key: str, message: str,
                now: datetime, base_url: str, retention_days: int, public: bool) -> dict:
    async with write_transaction():
        # Serialise a programme's care messages, so concurrent sends cannot slip past the limits.
        program = await locked(Program.select().where(Program.id == program_id)).first()
        if not program:
            raise not_found("That programme")
        await _check_limits(program_id, key, now=now, public=public)
        to = await recipients(program_id)
        if not to:
            raise PlannerError("This programme has no care team to receive messages yet.", "conflict")
        activity = ""
        if rsvp_id is not None:
            row = await Rsvp.select(Rsvp.activity.title).where(Rsvp.id == rsvp_id).first()
            activity = row["activity.title"] if row else ""
        subject, body = _mail(program, name=name, email=email, contact=contact, activity=activity, message=message,
                              inbox_url=f"{base_url}/programs/{program_id}/care", retention_days=retention_days)
        ids = []
        for addr in to:
            row = message_row(kind="care", to=addr, now=now, subject=subject, body_text=body,
                              context={"language": program_default(program["languages"])})
            await row.save()
            ids.append(row.id)
        await CareMessage.insert(CareMessage(program=program_id, rsvp=rsvp_id, sender_name=name[:200], sender_email=email[:254],
                                             contact=contact, sender_key=key, message=message, outbox_ids=ids, created_at=now))
    return {"status": "sent"}


async def send_from_guest(rsvp_id: object, token: str | None, data: dict, *, now: datetime, secret: str, base_url: str,
                          retention_days: int) -> dict:
    """A guest writes from their own page (their token is their key)."""
    r = await guest_rsvp(rsvp_id, token)
    message = _text(data.get("message"), label=_l("The message"), limit=MAX_MESSAGE, required=True)
    return await _send(r["program"], rsvp_id=r["id"], name=r["name"], email=r["email"], contact="",
                       key=sender_key(secret, r["program"], r["email"]), message=message, now=now, base_url=base_url,
                       retention_days=retention_days, public=False)


async def send_from_public(program_id: int, data: dict, *, now: datetime, client: str, secret: str, base_url: str,
                           retention_days: int) -> dict:
    """Someone writes from the public programme page; they may leave a way to reach them."""
    if not await Program.exists().where(Program.id == program_id):
        raise not_found("That programme")
    message = _text(data.get("message"), label=_l("The message"), limit=MAX_MESSAGE, required=True)
    contact = _text(data.get("contact"), label=_l("The contact"), limit=MAX_CONTACT, required=False, one_line=True)
    return await _send(program_id, rsvp_id=None, name="", email="", contact=contact, key=sender_key(secret, program_id, client),
                       message=message, now=now, base_url=base_url, retention_days=retention_days, public=True)


# ---------------------------------------------------------------- the inbox

async def inbox(program_id: int, *, user: dict | None, now: datetime) -> list[dict]:
    """The programme's care messages, newest first, for its organizers and care role only. Each opening is audited."""
    await require_role(user, program_id, *INBOX_ROLES)
    rows = await CareMessage.select().where(CareMessage.program == program_id).order_by(
        CareMessage.created_at, ascending=False).order_by(CareMessage.id, ascending=False)
    titles = {}
    rsvp_ids = [r["rsvp"] for r in rows if r["rsvp"] is not None]
    if rsvp_ids:
        titles = {x["id"]: x["activity.title"] for x in await Rsvp.select(Rsvp.id, Rsvp.activity.title).where(Rsvp.id.is_in(rsvp_ids))}
    await record("care_opened", now=now, program_id=program_id, actor=user, subject="care inbox", detail=f"{len(rows)} messages")
    return [{"id": r["id"], "created_at": r["created_at"].isoformat(), "from_guest_page": r["rsvp"] is not None,
             "name": r["sender_name"], "email": r["sender_email"], "contact": r["contact"],
             "activity": titles.get(r["rsvp"], ""), "message": r["message"]} for r in rows]


# ---------------------------------------------------------------- forgetting

async def _delete(rows: list[dict]) -> int:
    if not rows:
        return 0
    outbox = [i for r in rows for i in (loads(r["outbox_ids"]) or [])]
    if outbox:
        await OutboxMessage.delete().where(OutboxMessage.id.is_in(outbox))
    await CareMessage.delete().where(CareMessage.id.is_in([r["id"] for r in rows]))
    return len(rows)


async def purge(*, now: datetime, retention_days: int) -> int:
    """Delete the care messages (and the mail that carried them) of programmes that ended more than
    retention_days ago: the same rule as the sensitive answers."""
    cutoff = (now - timedelta(days=retention_days)).date()
    programs = [p["id"] for p in await Program.select(Program.id).where(Program.ends_on < cutoff)]
    if not programs:
        return 0
    rows = await CareMessage.select(CareMessage.id, CareMessage.outbox_ids).where(CareMessage.program.is_in(programs))
    async with write_transaction():
        return await _delete(rows)


async def erase_sender(program_id: int, email: str) -> int:
    """A guest erasing their data erases what they wrote to the care team too. Call inside the erasure's transaction."""
    rows = await CareMessage.select(CareMessage.id, CareMessage.outbox_ids).where(
        (CareMessage.program == program_id) & (CareMessage.sender_email == email))
    return await _delete(rows)


async def has_inbox_access(user: dict | None, program_id: int) -> bool:
    if user is None:
        return False
    row = await Membership.select(Membership.role).where(
        (Membership.program == program_id) & (Membership.user == user["id"])).first()
    return bool(row) and row["role"] in INBOX_ROLES

