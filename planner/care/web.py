"""Talk to the care team: the guest's and the public page's forms, POST /api/rsvps/{rsvp_id}/care (API.md),
the care inbox and the programme's care address."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.response import Redirect, Template

from planner.care import rules
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.programs.rules import get_program
from planner.settings import get_settings
from planner.templating import local_time
from planner.web_common import NoCheck, Out, User, client_address, typed


class CareIn(msgspec.Struct):
    message: str


class PublicCareIn(msgspec.Struct):
    message: str
    contact: str | None = None


class CareSettingIn(msgspec.Struct):
    address: str | None = None


class SentOut(Out):
    status: Literal["sent"]


class CareMessageOut(Out):
    id: int
    created_at: str
    from_guest_page: bool
    name: str
    email: str
    contact: str
    activity: str
    message: str


class CareSettingOut(Out):
    """Where care messages go: `address`, or every organizer (`recipients`) when it is empty."""
    address: str
    recipients: list[str]


def _client(request: Request) -> str:
    return client_address(request)


async def _guest_send(rsvp_id: int, token: str | None, data: dict) -> dict:
    s = get_settings()
    return await rules.send_from_guest(rsvp_id, token, data, now=utcnow(), secret=s.secret_key, base_url=s.base_url,
                                       retention_days=s.sensitive_retention_days)


async def _public_send(program_id: int, data: dict, client: str) -> dict:
    s = get_settings()
    return await rules.send_from_public(program_id, data, now=utcnow(), client=client, secret=s.secret_key,
                                        base_url=s.base_url, retention_days=s.sensitive_retention_days)


class CareController(Controller):
    path = "/api"
    tags = ["care"]

    @post("/rsvps/{rsvp_id:int}/care", status_code=202)
    async def from_guest(self, rsvp_id: int, data: CareIn, token: str | None = None) -> Response[SentOut]:
        """A private message to the programme's care team, which nobody else can read (API.md)."""
        # A refusal (a throttled sender included, with its Retry-After) is answered by the app's one error handler.
        return Response(typed(SentOut, await _guest_send(rsvp_id, token, {"message": data.message})), status_code=202)

    @post("/programs/{program_id:int}/care", status_code=202)
    async def from_public(self, request: Request, program_id: int, data: PublicCareIn) -> Response[SentOut]:
        sent = await _public_send(program_id, {"message": data.message, "contact": data.contact}, _client(request))
        return Response(typed(SentOut, sent), status_code=202)

    @get("/programs/{program_id:int}/care/messages")
    async def messages(self, program_id: int, user: User = NoCheck) -> Response[list[CareMessageOut]]:
        return Response(typed(list[CareMessageOut], await rules.inbox(program_id, user=user, now=utcnow())), headers={"Cache-Control": "no-store"})

    @get("/programs/{program_id:int}/care")
    async def settings(self, program_id: int, user: User = NoCheck) -> CareSettingOut:
        return typed(CareSettingOut, await rules.settings_of(program_id, user=user))

    @put("/programs/{program_id:int}/care")
    async def set_settings(self, program_id: int, data: CareSettingIn, user: User = NoCheck) -> CareSettingOut:
        return typed(CareSettingOut, await rules.set_address(program_id, data.address, user=user))


def _sent_page(program: dict | None, back: str, *, error: str | None = None, status: int = 200,
               headers: dict | None = None) -> Template:
    return Template("care/sent.html", context={"user": None, "program": program, "back": back, "error": error},
                    status_code=status, headers=headers)


@post("/r/{rsvp_id:int}/care", include_in_schema=False, status_code=200)
async def guest_form(request: Request, rsvp_id: int, token: str | None = None) -> Template:
    form = await request.form()
    token = token or form.get("token")
    back = f"/r/{rsvp_id}?token={token}"
    try:
        await _guest_send(rsvp_id, token, {"message": form.get("message")})
    except PlannerError as exc:
        if exc.code == "not_found":
            raise
        return _sent_page(None, back, error=exc.message, status=exc.status_code,
                          headers=exc.headers)
    return _sent_page(None, back)


@post("/p/{program_id:int}/care", include_in_schema=False, status_code=200)
async def public_form(request: Request, program_id: int) -> Template:
    form = await request.form()
    back = f"/p/{program_id}"
    try:
        await _public_send(program_id, {"message": form.get("message"), "contact": form.get("contact")}, _client(request))
    except PlannerError as exc:
        if exc.code == "not_found":
            raise
        return _sent_page(None, back, error=exc.message, status=exc.status_code,
                          headers=exc.headers)
    return _sent_page(None, back)


@get("/programs/{program_id:int}/care", include_in_schema=False)
async def inbox_page(request: Request, program_id: int, user: User = NoCheck) -> Template:
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    messages = await rules.inbox(program_id, user=user, now=utcnow())
    program = await get_program(program_id, user=user)
    for m in messages:
        m["when"] = local_time(datetime.fromisoformat(m["created_at"]), program["timezone"])
    settings = None
    try:
        settings = await rules.settings_of(program_id, user=user)
    except PlannerError:
        pass  # the care role reads messages; only organizers see and change where they go
    return Template("care/inbox.html", context={
        "user": user, "program": program, "messages": messages, "settings": settings,
        "retention_days": get_settings().sensitive_retention_days,
        "message": request.query_params.get("m"), "error": request.query_params.get("e"),
    }, headers={"Cache-Control": "no-store"})


@post("/programs/{program_id:int}/care", include_in_schema=False, status_code=200)
async def inbox_settings(request: Request, program_id: int, user: User = NoCheck) -> Redirect:
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    form = await request.form()
    try:
        await rules.set_address(program_id, form.get("address"), user=user)
    except PlannerError as exc:
        if exc.code in ("not_found", "forbidden"):
            raise
        return Redirect(f"/programs/{program_id}/care?e={quote(exc.message)}", status_code=303)
    return Redirect(f"/programs/{program_id}/care?m=saved", status_code=303)


def routes() -> list:
    return [CareController, guest_form, public_form, inbox_page, inbox_settings]
