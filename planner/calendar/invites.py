"""A guest's calendar invite, built from the database as it is now.

The mail worker attaches `invite_for_rsvp()` to confirmations, changes and
cancellations; the guest's page offers the same bytes at `invite_ics_url`.
Either way the invite says what is true when it is built, so a late or repeated
message can never put an old time back in someone's calendar.

SEQUENCE is `Activity.sequence` (raised by every change an organizer makes to
the title, time, space or what to bring, and by a cancellation) plus
`Rsvp.sequence` (raised by every change to the RSVP itself: confirmed, moved,
cancelled, declined, confirmed again). Both only grow, so every invite a guest
receives carries a SEQUENCE at least as high as the one before, and a change of
their own (a cancel) is strictly higher than the REQUEST it replaces.

One UID per RSVP: a residency is one recurring event (its days as RDATEs), so
each iTIP message is about one calendar object. The ORGANIZER is the address
the mail comes from, named after the programme; replies go to the care address
through the mail's Reply-To.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from planner.calendar.ics import Invite, InviteEvent, build_invite, invite_description, rsvp_uid
from planner.calendar.when import rsvp_days
from planner.clock import utcnow
from planner.errors import PlannerError, not_found
from planner.i18n import translations
from planner.resources.tables import SupportResource
from planner.rsvps.tables import ERASED_DOMAIN, Rsvp
from planner.settings import get_settings
from planner.tokens import check_rsvp_token, rsvp_token

# RSVP statuses whose invite is a REQUEST; ENDED ones get a CANCEL. Others have no invite yet.
CONFIRMED = ("confirmed",)
ENDED = ("cancelled", "declined")

_COLUMNS = (
    Rsvp.id, Rsvp.name, Rsvp.email, Rsvp.status, Rsvp.slot, Rsvp.program, Rsvp.sequence, Rsvp.language,
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

    Three small queries: the RSVP with its slot, activity, space and programme;
    the residency's days; the support resources.
    """
    r = await Rsvp.select(*_COLUMNS).where(Rsvp.id == rsvp_id).first()
    if r is None:
        return None
    ended = cancel or r["status"] in ENDED or r["activity.cancelled_at"] is not None
    if not ended and r["status"] not in CONFIRMED:
        return None
    uid = rsvp_uid(r["id"], uid_domain())
    days = await rsvp_days(r)
    resources = (await support_resources([r["program"]]))[r["program"]]
    url = manage_url(r["id"])
    where = location(r["activity.space.name"], r["activity.space.address"], r["program.venue_address"])
    translate = translations(r["language"] or "en").gettext
    description = invite_description(r["activity.what_to_bring"], url, resources, translate)
    events = [
        InviteEvent(uid=uid, starts_at=day["starts_at"], ends_at=day["ends_at"], title=r["activity.title"],
                    location=where, description=description)
        for day in days
    ]
    return Invite(
        method="CANCEL" if ended else "REQUEST",
        sequence=r["activity.sequence"] + r["sequence"],
        organizer_email=get_settings().mail_from,
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
