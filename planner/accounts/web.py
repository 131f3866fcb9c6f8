"""Accounts over HTTP: login and logout, the account page (sessions, tokens, password), one-time
links (invitation, reset), the team page, the audit page and the admin's restore; and their API."""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from planner import i18n
from planner.accounts import links, rules, sessions
from planner.audit.rules import events
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.programs import rules as program_rules
from planner.programs import team
from planner.programs.rules import get_program
from planner.settings import get_settings
from planner.web_common import SESSION_COOKIE, Form, NoCheck, Out, User, client_address, need_login, page, typed


def _safe_next(value: Any) -> str:
    # Only local paths: never redirect to another site after login.
    value = str(value or "")
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _session_cookie(secret: str) -> Cookie:
    s = get_settings()
    return Cookie(key=SESSION_COOKIE, value=secret, path="/", httponly=True, samesite="lax",
                  secure=s.base_url.startswith("https"), max_age=sessions.SESSION_DAYS * 24 * 3600)


def _ended_cookie() -> Cookie:
    return Cookie(key=SESSION_COOKIE, value="", path="/", httponly=True, samesite="lax", max_age=0,
                  secure=get_settings().base_url.startswith("https"))


async def _log_in(request: Request, user_id: int, to: str) -> Redirect:
    # A new id at every login: an id planted in the browser before login is never promoted.
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await sessions.end_session(old)
    secret = await sessions.start_session(user_id, now=utcnow(), user_agent=request.headers.get("user-agent", ""))
    return Redirect(to, status_code=303, cookies=[_session_cookie(secret)])




# ---------------------------------------------------------------- login, logout, links

class PageAuthController(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, next: str | None = None) -> Template:
        return page("accounts/login.html", None, next=_safe_next(next), error=None, email="")

    @post("/login", status_code=200)
    async def login(self, request: Request, data: dict[str, Any] = Form) -> Template | Redirect:
        s = get_settings()
        email = str(data.get("email", ""))
        try:
            user = await rules.authenticate(email, str(data.get("password", "")), now=utcnow(), client=client_address(request),
                                            attempts=s.login_attempts, client_attempts=s.login_client_attempts,
                                            window_seconds=s.login_window_seconds)
        except PlannerError as exc:
            headers = exc.headers
            return Template("accounts/login.html", context={"user": None, "next": _safe_next(data.get("next")), "error": exc.message,
                                                             "email": email}, status_code=exc.status_code, headers=headers)
        return await _log_in(request, user["id"], _safe_next(data.get("next")))

    @post("/logout", status_code=303)
    async def logout(self, request: Request) -> Redirect:
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            await sessions.end_session(secret)
        return Redirect("/login", status_code=303, cookies=[_ended_cookie()])

    @get("/account/reset")
    async def reset_form(self) -> Template:
        return page("accounts/reset.html", None, sent=False, error=None, email="")

    @post("/account/reset", status_code=200)
    async def reset_request(self, request: Request, data: dict[str, Any] = Form) -> Template:
        email = str(data.get("email", ""))
        try:
            # The mail speaks the asker's own choice of language, else their programme's default.
            language = i18n.chosen() or await program_rules.account_language(email)
            await links.request_reset(email, now=utcnow(), client=client_address(request), base_url=get_settings().base_url,
                                      language=language)
        except PlannerError as exc:
            headers = exc.headers
            return Template("accounts/reset.html", context={"user": None, "sent": False, "error": exc.message, "email": email},
                            status_code=exc.status_code, headers=headers)
        return page("accounts/reset.html", None, sent=True, error=None, email=email)

    @get("/account/set-password")
    async def set_password_form(self, token: str | None = None) -> Template:
        link = await links.link_for(token or "", now=utcnow())
        return page("accounts/set_password.html", None, link=link, token=token, error=None)

    @post("/account/set-password", status_code=200)
    async def set_password(self, request: Request, data: dict[str, Any] = Form) -> Template | Redirect:
        token = str(data.get("token", ""))
        if data.get("password") != data.get("password2"):
            link = await links.link_for(token, now=utcnow())
            return page("accounts/set_password.html", None, 400, link=link, token=token, error="The two passwords are not the same.")
        try:
            done = await links.set_password_with_link(token, str(data.get("password", "")), now=utcnow())
        except PlannerError as exc:
            if exc.code == "not_found":
                raise
            link = await links.link_for(token, now=utcnow())
            return page("accounts/set_password.html", None, exc.status_code, link=link, token=token, error=exc.message)
        return await _log_in(request, done["id"], "/account?m=password")


# ---------------------------------------------------------------- the account page

async def _account_context(user: dict) -> dict:
    now = utcnow()
    return {"sessions": await sessions.list_sessions(user["id"], now=now), "tokens": await rules.list_tokens(user["id"], now=now),
            "current_session": user.get("session_id"), "now": now, "token_days": get_settings().token_days}


@get("/account", include_in_schema=False)
async def account_page(request: Request, user: User = NoCheck) -> Template:
    user = need_login(user)
    return page("accounts/account.html", user, **await _account_context(user), new_token=None, error=None,
                message=request.query_params.get("m"))


@post("/account/{action:str}", include_in_schema=False, status_code=200)
async def account_action(request: Request, action: str, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    user = need_login(user)
    now = utcnow()
    try:
        if action == "password":
            if data.get("new") != data.get("new2"):
                raise PlannerError("The two new passwords are not the same.", extra={"field": "new2"})
            await links.change_password(user, str(data.get("current", "")), str(data.get("new", "")), now=now,
                                        keep_session_id=user.get("session_id"))
        elif action == "token":
            token = await rules.issue_token(user["id"], now=now, days=get_settings().token_days, label=str(data.get("label", "")))
            # Shown once, on this answer only; only its hash is kept.
            return page("accounts/account.html", user, **await _account_context(user), new_token=token, error=None, message=None)
        elif action == "revoke-token":
            await rules.revoke_token_by_id(user["id"], _int(data.get("token_id")))
        elif action == "end-session":
            await sessions.end_session_by_id(user["id"], _int(data.get("session_id")))
        elif action == "end-other-sessions":
            await sessions.end_sessions(user["id"], keep_session_id=user.get("session_id"))
        else:
            raise PlannerError("Unknown action.", "not_found")
    except PlannerError as exc:
        return page("accounts/account.html", user, exc.status_code, **await _account_context(user), new_token=None,
                    error=exc.message, message=None)
    return Redirect(f"/account?m={action}", status_code=303)


def _int(value: Any) -> int:
    text = str(value or "")
    # Ids are 32-bit integer columns: anything else names nothing.
    if not text.isascii() or not text.isdecimal() or len(text) > 10 or int(text) > 2**31 - 1:
        raise PlannerError("That was not found.", "not_found")
    return int(text)


# ---------------------------------------------------------------- the team, the audit log, the admin

@get("/programs/{program_id:int}/team", include_in_schema=False)
async def team_page(request: Request, program_id: int, user: User = NoCheck) -> Template:
    user = need_login(user)
    members = await team.list_members(program_id, user=user)
    program = await get_program(program_id, user=user)
    return page("accounts/team.html", user, program=program, members=members, error=request.query_params.get("e"),
                message=request.query_params.get("m"), organizers=sum(1 for m in members if m["role"] == "organizer"))


@post("/programs/{program_id:int}/team/{action:str}", include_in_schema=False, status_code=200)
async def team_action(request: Request, program_id: int, action: str, data: dict[str, Any] = Form, user: User = NoCheck) -> Redirect:
    user = need_login(user)
    now = utcnow()
    try:
        if action == "invite":
            await team.invite_member(program_id, data, user=user, now=now, base_url=get_settings().base_url)
        elif action == "role":
            await team.change_role(program_id, _int(data.get("user_id")), str(data.get("role", "")), user=user, now=now)
        elif action == "remove":
            await team.remove_member(program_id, _int(data.get("user_id")), user=user, now=now)
        else:
            raise PlannerError("Unknown action.", "not_found")
    except PlannerError as exc:
        if exc.code in ("unauthorized", "not_found") and action != "remove":
            raise
        return Redirect(f"/programs/{program_id}/team?e={quote(exc.message)}", status_code=303)
    if action == "remove" and _int(data.get("user_id")) == user["id"]:
        return Redirect("/", status_code=303)
    return Redirect(f"/programs/{program_id}/team?m={action}", status_code=303)


@get("/programs/{program_id:int}/audit", include_in_schema=False)
async def audit_page(request: Request, program_id: int, user: User = NoCheck) -> Template:
    user = need_login(user)
    await program_rules.require_role(user, program_id, "organizer")
    program = await get_program(program_id, user=user)
    return page("accounts/audit.html", user, program=program, events=await events(program_id, member_ids=await program_rules.member_ids(program_id)))


@get("/admin", include_in_schema=False)
async def admin_page(request: Request, user: User = NoCheck) -> Template:
    user = need_login(user)
    return page("accounts/admin.html", user, programs=await team.all_programs(user=user), error=request.query_params.get("e"),
                message=request.query_params.get("m"))


@post("/admin/restore", include_in_schema=False, status_code=200)
async def admin_restore(request: Request, data: dict[str, Any] = Form, user: User = NoCheck) -> Redirect:
    user = need_login(user)
    try:
        await team.restore_organizer(_int(data.get("program_id")), str(data.get("email", "")), user=user, now=utcnow())
    except PlannerError as exc:
        if exc.code in ("unauthorized", "forbidden"):
            raise
        return Redirect(f"/admin?e={quote(exc.message)}", status_code=303)
    return Redirect("/admin?m=restored", status_code=303)


def account_page_handlers() -> list:
    return [account_page, account_action, team_page, team_action, audit_page, admin_page, admin_restore]


# ---------------------------------------------------------------- API

class TokenIn(msgspec.Struct):
    email: str
    password: str
    label: str | msgspec.UnsetType = msgspec.UNSET


class TokenOut(Out):
    token: str
    expires_at: str


class InviteIn(msgspec.Struct):
    email: str
    role: str


class RoleIn(msgspec.Struct):
    role: str


class RestoreIn(msgspec.Struct):
    email: str


class RoleOut(Out):
    """A member's role in a programme."""
    program_id: int
    user_id: int
    role: str


class TeamMemberOut(RoleOut):
    email: str


class InvitedOut(TeamMemberOut):
    """`invited`: a new account, sent a link to choose its password; false for an existing account, just added."""
    invited: bool


class AuditEventOut(Out):
    at: str
    actor: str
    action: str
    subject: str
    detail: str


class AccountApiController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/auth/token", status_code=201, summary="Log in for a bearer token (it expires)")
    async def token(self, request: Request, data: TokenIn) -> TokenOut:
        s = get_settings()
        now = utcnow()
        user = await rules.authenticate(data.email, data.password, now=now, client=client_address(request),
                                        attempts=s.login_attempts, client_attempts=s.login_client_attempts,
                                        window_seconds=s.login_window_seconds)
        label = data.label if isinstance(data.label, str) else "API"
        token = await rules.issue_token(user["id"], now=now, days=s.token_days, label=label)
        return TokenOut(token=token, expires_at=(now + timedelta(days=s.token_days)).isoformat())

    @delete("/auth/token", status_code=204, summary="Revoke the bearer token this request is made with")
    async def revoke(self, request: Request, user: User = NoCheck) -> None:
        auth = request.headers.get("authorization", "")
        if user is None or not auth.lower().startswith("bearer "):
            raise PlannerError("Send the bearer token to revoke in the Authorization header.", "unauthorized")
        await rules.revoke_token(auth[7:].strip())

    @post("/programs/{program_id:int}/members/invite", status_code=201, summary="Invite someone to the team by email")
    async def invite(self, program_id: int, data: InviteIn, user: User = NoCheck) -> InvitedOut:
        return typed(InvitedOut, await team.invite_member(program_id, {"email": data.email, "role": data.role}, user=user,
                                                          now=utcnow(), base_url=get_settings().base_url))

    @patch("/programs/{program_id:int}/members/{user_id:int}", summary="Change a member's role")
    async def change_role(self, program_id: int, user_id: int, data: RoleIn, user: User = NoCheck) -> RoleOut:
        await team.change_role(program_id, user_id, data.role, user=user, now=utcnow())
        return RoleOut(program_id=program_id, user_id=user_id, role=data.role)

    @delete("/programs/{program_id:int}/members/{user_id:int}", status_code=204, summary="Remove a member; their access ends at once")
    async def remove(self, program_id: int, user_id: int, user: User = NoCheck) -> None:
        await team.remove_member(program_id, user_id, user=user, now=utcnow())

    @post("/programs/{program_id:int}/organizers", status_code=201, summary="Admin: make an account an organizer of any programme")
    async def restore(self, program_id: int, data: RestoreIn, user: User = NoCheck) -> TeamMemberOut:
        return typed(TeamMemberOut, await team.restore_organizer(program_id, data.email, user=user, now=utcnow()))

    @get("/programs/{program_id:int}/audit", summary="The programme's audit log (organizers)")
    async def audit(self, program_id: int, user: User = NoCheck) -> list[AuditEventOut]:
        await program_rules.require_role(user, program_id, "organizer")
        rows = await events(program_id, member_ids=await program_rules.member_ids(program_id))
        return [AuditEventOut(at=r["at"].isoformat(), actor=r["actor_label"], action=r["action"], subject=r["subject"],
                              detail=r["detail"]) for r in rows]
