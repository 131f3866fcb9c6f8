"""Live dashboard, inside-now counting and walk-ins: pages, JSON API and the server-sent event stream."""
from __future__ import annotations

import contextlib
import logging
import secrets
import time
from datetime import date
from typing import Any, AsyncIterator

import msgspec
from litestar import Request, get, post
from litestar.exceptions import ServiceUnavailableException
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from planner.clock import utcnow
from planner.errors import PlannerError
from planner.programs.rules import require_role
from planner.tickets import channels as tickets_channels
from planner.tickets import counts as tickets_counts
from planner.tickets import presence, walkin
from planner.tickets.shapes_web import LiveOut, PresenceOut, WalkinOut
from planner.web_common import Form, NoCheck, User, as_dict, typed

log = logging.getLogger("planner.live")

UNSET = msgspec.UNSET
# How long one event stream stays open before the browser is asked to reconnect.
STREAM_SECONDS = 120.0


class PresenceIn(msgspec.Struct):
    direction: str
    scan_id: str | None | msgspec.UnsetType = UNSET
    code: str | None | msgspec.UnsetType = UNSET
    force: bool | msgspec.UnsetType = UNSET


class WalkinIn(msgspec.Struct):
    name: str | None | msgspec.UnsetType = UNSET
    guests: int | None | msgspec.UnsetType = UNSET
    slot_id: int | str | None | msgspec.UnsetType = UNSET
    scan_id: str | None | msgspec.UnsetType = UNSET


def _device(request: Request, fallback: str = "") -> str:
    return (request.headers.get("x-device") or fallback)[:100]


def _page(name: str, user: User, status_code: int = 200, **context: Any) -> Template:
    return Template(name, context={"user": user, **context}, status_code=status_code)


def _day(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise PlannerError("day must be a date like 2027-07-02.", extra={"field": "day"}) from None


# ---------------------------------------------------------------- live dashboard

@get("/programs/{program_id:int}/live", include_in_schema=False)
async def dashboard_page(program_id: int, user: User = NoCheck, day: str | None = None) -> Template:
    status = await tickets_counts.live_status(program_id, user=user, day=_day(day), now=utcnow())
    query = f"?day={status['day']}" if day else ""
    return _page("tickets/dashboard.html", user, status=status, days=[date.fromisoformat(d) for d in status["days"]],
                 today=date.fromisoformat(status["day"]),
                 status_url=f"/api/programs/{program_id}/live{query}", events_url=f"/api/programs/{program_id}/live/events{query}")


@get("/api/programs/{program_id:int}/live", tags=["live"], summary="Live check-in counts of one day")
async def live_status(program_id: int, user: User = NoCheck, day: str | None = None) -> LiveOut:
    return typed(LiveOut, await tickets_counts.live_status(program_id, user=user, day=_day(day), now=utcnow()))


@get("/api/programs/{program_id:int}/live/events", tags=["live"], summary="Live check-in counts as server-sent events")
async def live_events(request: Request, program_id: int, user: User = NoCheck, day: str | None = None) -> ServerSentEvent:
    """`event: status` with the same body as the JSON status, on connect, after each change
    (a burst of scans arrives as one) and every 20 seconds when nothing moves; after about two
    minutes `event: reconnect` and the stream ends (EventSource reconnects by itself)."""
    await require_role(user, program_id, "organizer", "staff")
    chosen = _day(day)
    plugin = tickets_channels.running_plugin(request.app)
    if plugin is None:
        raise ServiceUnavailableException("Live updates are not available on this server; the dashboard refreshes every 10 seconds instead.")
    return ServerSentEvent(_events(plugin, program_id, user, chosen), retry_duration=3000)


async def _events(plugin: Any, program_id: int, user: User, day: str | None) -> AsyncIterator[ServerSentEventMessage]:
    n = 0
    ends = time.monotonic() + STREAM_SECONDS
    try:
        async with contextlib.aclosing(tickets_channels.status_updates(plugin, program_id, user=user, day=day, clock=utcnow)) as updates:
            async for status, changed in updates:
                n += 1
                yield ServerSentEventMessage(event="status", id=n, data=msgspec.json.encode({"status": status, "changed": changed}).decode())
                if time.monotonic() > ends:
                    # Servers wait for open responses before they stop; a stream that ends now and then
                    # (the browser reconnects after `retry`) keeps restarts and deploys short.
                    yield ServerSentEventMessage(event="reconnect", data="{}")
                    return
    except PlannerError as exc:
        # The role was taken away while watching: say why, and end the stream.
        yield ServerSentEventMessage(event="gone", data=msgspec.json.encode({"detail": exc.message}).decode())
    except Exception:  # noqa: BLE001
        # The browser reconnects on its own after `retry`; the log says what happened.
        log.exception("live stream of programme %s ended", program_id)


# ---------------------------------------------------------------- inside now

@get("/api/spaces/{space_id:int}/presence", tags=["live"], summary="How many people are inside a space now")
async def presence_get(space_id: int, user: User = NoCheck) -> PresenceOut:
    return typed(PresenceOut, await presence.get_presence(space_id, user=user))


@post("/api/spaces/{space_id:int}/presence", tags=["live"], status_code=200, summary="Count one person in or out")
async def presence_post(request: Request, space_id: int, data: PresenceIn, user: User = NoCheck) -> PresenceOut:
    out = await presence.move(space_id, as_dict(data), user=user, device=_device(request), now=utcnow())
    if out["changed"]:
        await tickets_channels.publish_checkin(request.app, out["program_id"], {"kind": "presence", "space_id": out["space_id"]})
    return typed(PresenceOut, out)


@get("/spaces/{space_id:int}/presence", include_in_schema=False)
async def presence_page(request: Request, space_id: int, user: User = NoCheck) -> Template:
    state = await presence.get_presence(space_id, user=user)
    return _page("tickets/presence.html", user, state=state, scan_id=secrets.token_urlsafe(12), error=None, refused=False,
                 message=request.query_params.get("m"))


@post("/spaces/{space_id:int}/presence", include_in_schema=False, status_code=200)
async def presence_form(request: Request, space_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    """The same tap without JavaScript: a form per button, answered by a redirect (or the page with the refusal)."""
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    form = {"direction": data.get("direction"), "scan_id": data.get("scan_id"), "force": data.get("force")}
    try:
        out = await presence.move(space_id, form, user=user, device=_device(request, "presence page"), now=utcnow())
    except PlannerError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        state = await presence.get_presence(space_id, user=user)
        return _page("tickets/presence.html", user, status_code=exc.status_code, state=state, error=exc.message,
                     refused=(exc.extra or {}).get("result") == "full", scan_id=form["scan_id"] or secrets.token_urlsafe(12),
                     message=None)
    if out["changed"]:
        await tickets_channels.publish_checkin(request.app, out["program_id"], {"kind": "presence", "space_id": out["space_id"]})
    return Redirect(f"/spaces/{space_id}/presence?m={form['direction']}", status_code=303)


# ---------------------------------------------------------------- walk-ins

@post("/api/activities/{activity_id:int}/walkins", tags=["check-in"], status_code=201, summary="Seat and check in a walk-in party")
async def walkin_post(request: Request, activity_id: int, data: WalkinIn, user: User = NoCheck) -> WalkinOut:
    out = await walkin.admit_walkin(activity_id, as_dict(data), user=user, device=_device(request), now=utcnow())
    if not out.get("replay"):
        await tickets_channels.publish_checkin(request.app, out["program_id"], {
            "kind": "checkin", "items": [{"activity_id": out["activity"]["id"], "slot_id": out["slot_id"], "party": out["party"]}]})
    return typed(WalkinOut, out)


def routes() -> list:
    return [dashboard_page, live_status, live_events, presence_get, presence_post, presence_page, presence_form, walkin_post]
