"""Calendar files over HTTP: a guest's invite, the feeds (with 304s), and the organizer's subscribe page."""
from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from litestar import HttpMethod, Request, Response, get, route
from litestar.params import Dependency, Parameter
from litestar.response import Template

from planner.calendar import feeds, invites
from planner.calendar.ics import MEDIA_TYPE
from planner.clock import utcnow
from planner.errors import PlannerError, not_found
from planner.programs.rules import get_program
from planner.web_common import User

MAX_AGE = 300
INVITE_HEADERS = {"cache-control": "private, no-store", "referrer-policy": "no-referrer"}


def _ics_id(name: str) -> int:
    """The id in a path segment such as `12.ics`; anything else is simply not found."""
    stem = name.removesuffix(".ics")
    if stem == name or not stem.isdecimal():
        raise not_found("That calendar")
    return int(stem)


def not_modified(request: Request, etag: str, last_modified: datetime) -> bool:
    """RFC 9110 13.1: If-None-Match (weak comparison) wins; If-Modified-Since only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


async def _feed(request: Request, check: feeds.FeedCheck) -> Response[bytes]:
    headers = {
        "etag": check.etag,
        "last-modified": format_datetime(check.last_modified.astimezone(UTC), usegmt=True),
        "cache-control": f"{'private' if check.private else 'public'}, max-age={MAX_AGE}",
    }
    if check.private:
        headers["referrer-policy"] = "no-referrer"
    if not_modified(request, check.etag, check.last_modified):
        return Response(b"", status_code=304, headers=headers)
    headers["content-disposition"] = f'inline; filename="{check.filename}"'
    headers["content-type"] = MEDIA_TYPE  # as is: Litestar would add a second charset
    return Response(await check.build(), headers=headers)


# Calendar files carry no forms, so they set no CSRF cookie (and a shared cache may keep the public feed).
# GET and HEAD both: calendar apps and link checkers ask HEAD first.
FILE = dict(http_method=[HttpMethod.GET, HttpMethod.HEAD], exclude_from_csrf=True, tags=["calendar"],
            media_type=MEDIA_TYPE)
TOKEN = Parameter(description="The personal token from the guest's link.", required=False)


@route("/r/{rsvp_id:int}/invite.ics", **FILE, summary="A guest's calendar invite",
       description="The RSVP's iCalendar invite as it stands: METHOD:REQUEST while confirmed, METHOD:CANCEL once "
                   "cancelled or declined (one UID per RSVP; a residency is one recurring event). No login: the "
                   "token is the key. 404 for an unknown RSVP or token, or before the place is confirmed.")
async def rsvp_invite(rsvp_id: int, token: Annotated[str | None, TOKEN] = None) -> Response[bytes]:
    body, method = await invites.guest_invite(rsvp_id, token, now=utcnow())
    return Response(body, headers={**INVITE_HEADERS, "content-type": f"{MEDIA_TYPE}; method={method}",
                                   "content-disposition": 'inline; filename="invite.ics"'})


@route("/programs/{program_id:int}/calendar.ics", **FILE, summary="A programme's public calendar feed",
       description="Published activities, one event per slot (METHOD:PUBLISH). Answers 304 to a matching "
                   "If-None-Match or If-Modified-Since.")
async def program_calendar(request: Request, program_id: int) -> Response[bytes]:
    return await _feed(request, await feeds.program_check(program_id))


@route("/feeds/guest/{program_id:int}/{name:str}", **FILE, summary="A guest's private calendar feed",
       description="`name` is `<rsvp_id>.ics`; the guest's confirmed places in the programme. 404 for a wrong token.")
async def guest_calendar(request: Request, program_id: int, name: str,
                         token: Annotated[str | None, Parameter(description="The feed's token.", required=False)] = None,
                         ) -> Response[bytes]:
    return await _feed(request, await feeds.guest_check(program_id, _ics_id(name), token))


@route("/feeds/user/{name:str}", **FILE, summary="An organizer's or staff member's private calendar feed",
       description="`name` is `<user_id>.ics`; everything in their programmes. 404 for a wrong token.")
async def user_calendar(request: Request, name: str,
                        token: Annotated[str | None, Parameter(description="The feed's token.", required=False)] = None,
                        ) -> Response[bytes]:
    return await _feed(request, await feeds.user_check(_ics_id(name), token))


@get("/programs/{program_id:int}/calendar", include_in_schema=False)
async def subscribe_page(program_id: int, user: User = Dependency(skip_validation=True)) -> Template:
    """Where an organizer or staff member finds the feed links to put on their phone."""
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    program = await get_program(program_id, user=user)
    context: dict[str, Any] = {
        "user": user,
        "program": program,
        "public_url": feeds.program_feed_url(program_id),
        "public_webcal": feeds.program_feed_url(program_id, as_webcal=True),
        "private_url": feeds.user_feed_url(user["id"]),
        "private_webcal": feeds.user_feed_url(user["id"], as_webcal=True),
    }
    return Template("calendar/subscribe.html", context=context)


def routes() -> list[Any]:
    return [rsvp_invite, program_calendar, guest_calendar, user_calendar, subscribe_page]
