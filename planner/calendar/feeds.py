"""Subscribable calendars: a programme's public feed, a guest's own, an organizer's or staff member's.

Calendar apps poll feeds every few minutes to hours, so each feed first costs a
few small queries (`FeedCheck.etag`, `FeedCheck.last_modified`) and is only
built when those changed: the handler answers 304 without calling `build`.

The validator covers everything a feed shows: the programmes' rows, the count
and latest `updated_at` of their activities (create, update and cancel set it;
slots only change through the activity), their spaces' names and addresses,
and for a guest the count and latest `updated_at` of their RSVPs and the
support resources. The feed's DTSTAMP is that latest change, not the clock, so
the same ETag always means the same bytes, on any app instance.

Last-Modified is the latest of those timestamps. Deleting an activity, renaming
a space or editing a support resource changes the ETag but not Last-Modified;
calendar apps send If-None-Match, which wins over If-Modified-Since.
"""
from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from piccolo.query.functions.aggregate import Count, Max

from planner.accounts.tables import User
from planner.calendar.ics import TEXT, FeedEvent, build_feed, invite_description, slot_uid
from planner.calendar.invites import location, manage_url, support_resources, uid_domain
from planner.errors import PlannerError, not_found
from planner.fields import loads
from planner.i18n import translations
from planner.programs.tables import Membership, Program
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Activity, Slot, Space
from planner.settings import get_settings
from planner.tokens import check_feed_token, feed_token

# Part of every ETag: bump it when the feeds' content changes shape.
FORMAT = "feed-2"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _program_columns(program) -> tuple:
    """What a feed shows of a programme: from the table itself, or through a foreign key to it."""
    return program.id, program.name, program.timezone, program.venue_address, program.created_at, program.languages


def _unjoined(row: dict) -> dict:
    return {key.split(".", 1)[1]: value for key, value in row.items()}


@dataclass(frozen=True)
class FeedCheck:
    """A feed's validators, and how to build it when they do not match the client's."""

    etag: str
    last_modified: datetime
    build: Callable[[], Awaitable[bytes]]
    private: bool
    filename: str


# ---------------------------------------------------------------- links

def webcal(url: str) -> str:
    """The same address for calendar apps: webcal:// makes phones offer to subscribe."""
    return "webcal://" + url.split("://", 1)[1]


def program_feed_url(program_id: int, *, as_webcal: bool = False) -> str:
    url = f"{get_settings().base_url}/programs/{program_id}/calendar.ics"
    return webcal(url) if as_webcal else url


def guest_key(program_id: int, email: str) -> str:
    return f"{program_id}:{email}"


def guest_feed_url(program_id: int, rsvp_id: int, email: str, *, as_webcal: bool = False) -> str:
    """A guest's private feed of their confirmed activities in the programme.

    The path names one of their RSVPs (any will do) so that no email appears in
    the address; the token is bound to the programme and the email, so every
    RSVP of theirs in the programme opens the same feed.
    """
    token = feed_token("guest", guest_key(program_id, email))
    url = f"{get_settings().base_url}/feeds/guest/{program_id}/{rsvp_id}.ics?token={token}"
    return webcal(url) if as_webcal else url


def user_feed_url(user_id: int, *, as_webcal: bool = False) -> str:
    """An organizer's or staff member's private feed of everything in their programmes."""
    url = f"{get_settings().base_url}/feeds/user/{user_id}.ics?token={feed_token('user', str(user_id))}"
    return webcal(url) if as_webcal else url


# ---------------------------------------------------------------- validators

def _when(value: datetime | str | None) -> datetime | None:
    """Aggregates come back as datetimes from PostgreSQL and as ISO text from SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _etag(*parts: object) -> str:
    digest = hashlib.sha256(repr((FORMAT, get_settings().base_url, parts)).encode()).digest()
    return '"' + urlsafe_b64encode(digest[:16]).decode().rstrip("=") + '"'


async def _state(programs: list[dict]) -> tuple[tuple, datetime]:
    """What the programmes' feeds depend on, as a fingerprint, and when it last changed. Two queries."""
    ids = [p["id"] for p in programs]
    changed = [p["created_at"] for p in programs]
    activities: list = []
    spaces: list = []
    if ids:
        rows = await Activity.select(Activity.program, Count(), Max(Activity.updated_at)).where(
            Activity.program.is_in(ids)
        ).group_by(Activity.program).order_by(Activity.program)
        for row in rows:
            latest = _when(row["max"])
            activities.append((row["program"], row["count"], latest and latest.isoformat()))
            if latest:
                changed.append(latest)
        spaces = [
            tuple(row.values())
            for row in await Space.select(Space.id, Space.name, Space.address).where(
                Space.program.is_in(ids)
            ).order_by(Space.id)
        ]
    shown = [(p["id"], p["name"], p["timezone"], p["venue_address"], str(p["languages"])) for p in programs]
    return (tuple(shown), tuple(activities), tuple(spaces)), max(changed, default=EPOCH)


# ---------------------------------------------------------------- events

def _language(program: dict) -> str:
    """The language a programme's public calendar speaks: its first."""
    return (loads(program["languages"]) or ["en"])[0]


def _program_event(row: dict, program: dict, base: str, domain: str, *, organizer: bool = False,
                   timezone: str = "", translate=None) -> FeedEvent:
    """One slot of an activity; for organizers drafts are TENTATIVE and cancellations CANCELLED."""
    t = translate or translations(_language(program)).gettext
    draft = not row["activity.published"]
    status = "CONFIRMED"
    if organizer:
        url = f"{base}/activities/{row['activity.id']}/manage"
        link = t(TEXT["organize"]).format(url=url)
        status = "CANCELLED" if row["activity.cancelled_at"] is not None else "TENTATIVE" if draft else "CONFIRMED"
    else:
        url = f"{base}/a/{row['activity.id']}"
        link = t(TEXT["details"]).format(url=url)
    what = row["activity.what_to_bring"].strip()
    parts = [
        t(TEXT["draft"]) if organizer and draft else "",
        row["activity.description"].strip(),
        t(TEXT["what_to_bring"]).format(what=what) if what else "",
        link,
    ]
    return FeedEvent(
        uid=slot_uid(row["id"], domain),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        title=row["activity.title"],
        location=location(row["space.name"], row["space.address"], program["venue_address"]),
        description="\n\n".join(part for part in parts if part),
        url=url,
        sequence=row["activity.sequence"],
        status=status,  # type: ignore[arg-type]
        timezone=timezone,
    )


_SLOT_COLUMNS = (
    Slot.id, Slot.starts_at, Slot.ends_at, Slot.program,
    Slot.activity.id, Slot.activity.title, Slot.activity.description, Slot.activity.what_to_bring,
    Slot.activity.sequence, Slot.activity.published, Slot.activity.cancelled_at,
    Slot.space.name, Slot.space.address,
)


# ---------------------------------------------------------------- the public feed

async def program_check(program_id: int) -> FeedCheck:
    """The public feed of a programme: its published, non-cancelled activities, one event per slot."""
    program = await Program.select(*_program_columns(Program)).where(Program.id == program_id).first()
    if program is None:
        raise not_found("That programme")
    state, last_modified = await _state([program])

    async def build() -> bytes:
        rows = await Slot.select(*_SLOT_COLUMNS).where(
            (Slot.program == program_id)
            & (Slot.activity.published == True)  # noqa: E712
            & Slot.activity.cancelled_at.is_null()
        ).order_by(Slot.starts_at).order_by(Slot.id)
        base, domain = get_settings().base_url, uid_domain()
        events = [_program_event(row, program, base, domain) for row in rows]
        return build_feed(program["name"], program["timezone"], events, last_modified)

    return FeedCheck(_etag("program", program_id, state), last_modified, build, private=False,
                     filename=f"programme-{program_id}.ics")


async def program_feed(program_id: int) -> tuple[bytes, str, datetime]:
    """The public feed's bytes, ETag and Last-Modified (for the benchmark and for scripts)."""
    check = await program_check(program_id)
    return await check.build(), check.etag, check.last_modified


# ---------------------------------------------------------------- a guest's feed

async def guest_check(program_id: int, rsvp_id: int, token: str | None) -> FeedCheck:
    """A guest's feed: their confirmed places in the programme, with their page and support lines."""
    anchor = await Rsvp.select(
        Rsvp.email, Rsvp.language, *_program_columns(Rsvp.program)
    ).where((Rsvp.id == rsvp_id) & (Rsvp.program == program_id)).first()
    if anchor is None or not check_feed_token("guest", guest_key(program_id, anchor["email"]), token):
        raise PlannerError("This calendar link is not valid. Open the link from your page again.", "not_found")
    email = anchor.pop("email")
    language = anchor.pop("language") or "en"
    t = translations(language).gettext
    program = _unjoined(anchor)
    state, last_modified = await _state([program])
    mine = await Rsvp.select(Count(), Max(Rsvp.updated_at)).where(
        (Rsvp.program == program_id) & (Rsvp.email == email)
    ).first()
    latest = _when(mine["max"])
    last_modified = max(last_modified, latest or EPOCH)
    # Every event's description lists them, so they are part of the validator.
    resources = (await support_resources([program_id]))[program_id]

    async def build() -> bytes:
        rsvps = await Rsvp.select(
            Rsvp.id, Rsvp.slot, Rsvp.activity.id, Rsvp.activity.kind, Rsvp.activity.title,
            Rsvp.activity.what_to_bring, Rsvp.activity.sequence,
        ).where(
            (Rsvp.program == program_id) & (Rsvp.email == email) & (Rsvp.status == "confirmed")
            & Rsvp.activity.cancelled_at.is_null()
        )
        by_activity = {r["activity.id"]: r for r in rsvps}
        wanted = {r["slot"] for r in rsvps if r["activity.kind"] != "residency"}
        residencies = [a for a, r in by_activity.items() if r["activity.kind"] == "residency"]
        events: list[FeedEvent] = []
        if by_activity:
            # The RSVP's own slot; every day of a residency.
            which = [clause for clause in (
                Slot.id.is_in(list(wanted)) if wanted else None,
                Slot.activity.is_in(residencies) if residencies else None,
            ) if clause is not None]
            slots = await Slot.select(
                Slot.id, Slot.starts_at, Slot.ends_at, Slot.activity, Slot.space.name, Slot.space.address
            ).where(which[0] if len(which) == 1 else which[0] | which[1]).order_by(Slot.starts_at).order_by(Slot.id)
            domain = uid_domain()
            for s in slots:
                r = by_activity[s["activity"]]
                url = manage_url(r["id"])
                events.append(FeedEvent(
                    uid=slot_uid(s["id"], domain),
                    starts_at=s["starts_at"],
                    ends_at=s["ends_at"],
                    title=r["activity.title"],
                    location=location(s["space.name"], s["space.address"], program["venue_address"]),
                    description=invite_description(r["activity.what_to_bring"], url, resources, t),
                    url=url,
                    sequence=r["activity.sequence"],
                ))
        name = t(TEXT["guest_feed"]).format(programme=program["name"])
        return build_feed(name, program["timezone"], events, last_modified)

    etag = _etag("guest", program_id, email, language, state, mine["count"], latest and latest.isoformat(),
                 [tuple(r.values()) for r in resources])
    return FeedCheck(etag, last_modified, build, private=True, filename=f"programme-{program_id}-mine.ics")


# ---------------------------------------------------------------- an organizer's or staff member's feed

async def user_check(user_id: int, token: str | None) -> FeedCheck:
    """Everything in the user's programmes: drafts TENTATIVE, cancelled activities CANCELLED."""
    if not check_feed_token("user", str(user_id), token):
        raise PlannerError("This calendar link is not valid. Copy it again from the programme's calendar page.", "not_found")
    user = await User.select(User.email, User.created_at).where(User.id == user_id).first()
    if user is None:
        raise PlannerError("This calendar link is not valid. Copy it again from the programme's calendar page.", "not_found")
    rows = await Membership.select(*_program_columns(Membership.program)).where(
        Membership.user == user_id
    ).order_by(Membership.program.starts_on).order_by(Membership.program.id)
    programs = [_unjoined(row) for row in rows]
    state, last_modified = await _state(programs)
    last_modified = max(last_modified, user["created_at"])
    zone = programs[0]["timezone"] if programs else "UTC"

    async def build() -> bytes:
        by_id = {p["id"]: p for p in programs}
        base, domain = get_settings().base_url, uid_domain()
        events: list[FeedEvent] = []
        if by_id:
            slots = await Slot.select(*_SLOT_COLUMNS).where(Slot.program.is_in(list(by_id))).order_by(
                Slot.starts_at
            ).order_by(Slot.id)
            for row in slots:
                program = by_id[row["program"]]
                tz = program["timezone"] if program["timezone"] != zone else ""
                events.append(_program_event(row, program, base, domain, organizer=True, timezone=tz))
        return build_feed(TEXT["user_feed"].format(who=user["email"]), zone, events, last_modified)

    etag = _etag("user", user_id, user["email"], state)
    return FeedCheck(etag, last_modified, build, private=True, filename="my-programmes.ics")
