"""A guest's calendar invite, built from the database as it is now.

The mail worker attaches `invite_for_rsvp()` to confirmations, changes and
cancellations; the guest's page offers the same bytes at `invite_ics_url`.
Either way the invite says what is true when it is built, so a late or repeated
message can never put an old time back in someone's calendar.

SEQUENCE is `Activity.sequence` (raised by every change an organizer makes to
the title, time, space or what to bring, and by a cancellation) plus the number
of outbox messages written about the RSVP (confirmed, moved, cancelled by the
guest, declined, confirmed again...: every change to an RSVP writes one). Both
only grow, so every invite a guest receives carries a SEQUENCE at least as high
as the one before, and a change of their own (a cancel) is strictly higher than
the REQUEST it replaces. This holds while outbox rows are kept; the one place
that deletes some (a guest erasing their data drops their unsent mail) ends
that guest's mail anyway. An `Rsvp.sequence` column would remove the coupling.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from planner.calendar.ics import Invite, InviteEvent, build_invite, invite_description, rsvp_slot_uid, rsvp_uid
from planner.clock import utcnow
from planner.errors import PlannerError, not_found
from planner.mail.tables import OutboxMessage
from planner.resources.tables import SupportResource
from planner.rsvps.tables import ERASED_DOMAIN, Rsvp
from planner.scheduling.tables import Slot
from planner.settings import get_settings
from planner.tokens import check_rsvp_token, rsvp_token

# RSVP statuses whose invite is a REQUEST; ENDED ones get a CANCEL. Others have no invite yet.
CONFIRMED = ("confirmed",)
ENDED = ("cancelled", "declined")

_COLUMNS = (
    Rsvp.id, Rsvp.name, Rsvp.email, Rsvp.status, Rsvp.slot, Rsvp.program,
    Rsvp.slot.starts_at, Rsvp.slot.ends_at,
    Rsvp.activity.id, Rsvp.activity.kind, Rsvp.activity.title, Rsvp.activity.what_to_bring,
    Rsvp.activity.sequence, Rsvp.activity.cancelled_at,
    Rsvp.activity.space.name, Rsvp.activity.space.address,
    Rsvp.program.name, Rsvp.program.timezone, Rsvp.program.care_email, Rsvp.program.venue_address,
)


def uid_domain() -> str:
    """The domain part of every UID: the public host, so UIDs are unique to this deployment."""
    return urlparse(get_settings().base_url).hostname or "planner.localhost"


def location(space_name: str, space_address: str, venue_address: str) -> str:
    """The space, then where to find it: its own address, else the programme's venue."""
    return ", ".join(part for part in (space_name.strip(), (space_address or venue_address).strip()) if part)


def manage_url(rsvp_id: int) -> str:
    return f"{get_settings().base_url}/r/{rsvp_id}?token={rsvp_token(rsvp_id)}"


async def support_resources(program_ids: Any) -> dict[int, list[dict]]:
    """The enabled support resources of some programmes, in their order, by programme."""
    ids = list(program_ids)
    out: dict[int, list[dict]] = {pid: [] for pid in ids}
    if ids:
        rows = await SupportResource.select(
            SupportResource.program, SupportResource.name, SupportResource.phone, SupportResource.sms,
            SupportResource.url, SupportResource.hours,
        ).where(
            SupportResource.program.is_in(ids) & (SupportResource.enabled == True)  # noqa: E712
        ).order_by(SupportResource.position).order_by(SupportResource.id)
        for row in rows:
            out[row.pop("program")].append(row)
    return out


async def load_invite(rsvp_id: int, *, cancel: bool = False, now: datetime) -> Invite | None:
    """The invite of an RSVP as it stands, or None when there is none (unknown, or not yet confirmed).

    Four small queries: the RSVP with its slot, activity, space and programme;
    the residency's other days; the support resources; the RSVP's message count.
    """
    r = await Rsvp.select(*_COLUMNS).where(Rsvp.id == rsvp_id).first()
    if r is None:
        return None
    ended = cancel or r["status"] in ENDED or r["activity.cancelled_at"] is not None
    if not ended and r["status"] not in CONFIRMED:
        return None
    domain = uid_domain()
    if r["activity.kind"] == "residency":
        # A residency is applied for as a whole: the guest comes on every day.
        slots = await Slot.select(Slot.id, Slot.starts_at, Slot.ends_at).where(
            Slot.activity == r["activity.id"]
        ).order_by(Slot.starts_at)
        times = [(rsvp_slot_uid(r["id"], s["id"], domain), s["starts_at"], s["ends_at"]) for s in slots]
    else:
        times = [(rsvp_uid(r["id"], domain), r["slot.starts_at"], r["slot.ends_at"])]
    resources = (await support_resources([r["program"]]))[r["program"]]
    messages = await OutboxMessage.count().where(OutboxMessage.rsvp == r["id"])
    url = manage_url(r["id"])
    where = location(r["activity.space.name"], r["activity.space.address"], r["program.venue_address"])
    description = invite_description(r["activity.what_to_bring"], url, resources)
    events = [
        InviteEvent(uid=uid, starts_at=starts_at, ends_at=ends_at, title=r["activity.title"],
                    location=where, description=description)
        for uid, starts_at, ends_at in times
    ]
    return Invite(
        method="CANCEL" if ended else "REQUEST",
        sequence=r["activity.sequence"] + messages,
        organizer_email=r["program.care_email"] or get_settings().mail_from,
        organizer_name=r["program.name"],
        attendee_email=r["email"],
        attendee_name=r["name"],
        timezone=r["program.timezone"],
        events=events,
        now=now,
        url=url,
    )


async def invite_for_rsvp(rsvp_id: int, *, cancel: bool = False, now: datetime | None = None) -> bytes:
    """The iCalendar invite of an RSVP: REQUEST while confirmed, CANCEL once it (or its activity) is cancelled.

    `cancel=True` forces a CANCEL (the mail worker sends one with every cancellation).
    """
    return (await invite_with_method(rsvp_id, cancel=cancel, now=now))[0]


async def invite_with_method(rsvp_id: int, *, cancel: bool = False, now: datetime | None = None) -> tuple[bytes, str]:
    """The invite and its METHOD, for the `method` parameter of a text/calendar part.

    Without `cancel` the method can still be CANCEL: the activity may have been
    cancelled between a confirmation being queued and being sent.
    """
    invite = await load_invite(int(rsvp_id), cancel=cancel, now=now or utcnow())
    if invite is None:
        raise PlannerError("There is no calendar invite until the place is confirmed.", "not_found")
    return build_invite(invite), invite.method


async def guest_invite(rsvp_id: int, token: str | None, *, now: datetime) -> tuple[bytes, str]:
    """The invite behind a guest's link, with its method; a wrong token looks like an unknown RSVP."""
    if not check_rsvp_token(rsvp_id, token):
        raise PlannerError("This link is not valid. Open the link from your email again.", "not_found")
    if await Rsvp.exists().where((Rsvp.id == rsvp_id) & Rsvp.email.like(f"%@{ERASED_DOMAIN}")):
        raise not_found("That RSVP")  # erased by the guest: the link stops working
    invite = await load_invite(rsvp_id, now=now)
    if invite is None:
        if not await Rsvp.exists().where(Rsvp.id == rsvp_id):
            raise not_found("That RSVP")
        raise PlannerError("There is no calendar invite until your place is confirmed.", "not_found")
    return build_invite(invite), invite.method
