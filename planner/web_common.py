"""What every controller shares: the current user, struct conversion, page rendering helpers."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Body, Dependency
from litestar.response import Redirect, Template

from planner.accounts.rules import user_for_token
from planner.accounts.sessions import user_for_session
from planner.boundary import csrf_ok
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.i18n import LazyText
from planner.settings import get_settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# The current user as every handler receives it: the user's row (id, email, is_admin, name), or None.
User = dict | None
# The user comes from provide_user; Litestar need not validate it again.
NoCheck = Dependency(skip_validation=True)
# A form posted by a page.
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class Out(msgspec.Struct, forbid_unknown_fields=True):
    """A response body: every field the rule returns is declared, so /schema documents the whole answer."""


def _plain(value: Any) -> Any:
    if isinstance(value, LazyText):
        return str(value)  # in the request's language, as the app's encoder would
    raise NotImplementedError(f"a response cannot hold a {type(value).__name__}")


def typed(kind: Any, value: Any) -> Any:
    """A rule's result as the response struct that /schema documents; a shape that drifted from the struct
    fails here, loudly, instead of reaching clients undocumented. Messages still to translate (LazyText)
    and datetimes become the text the client would have read."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return msgspec.convert(msgspec.to_builtins(value, enc_hook=_plain), kind)


def page(name: str, user: User, status_code: int = 200, **context: Any) -> Template:
    """A server-rendered page; every template gets the current user (None for guests)."""
    return Template(name, context={"user": user, **context}, status_code=status_code)


async def save_or_show(user: User, template: str, context: Callable[[], Awaitable[dict]], save: Callable[[], Awaitable[Any]], *,
                       form: dict, done: Callable[[Any], str]) -> Template | Redirect:
    """An edit form's POST: save, then go where `done` says; or show the form again with what was typed and
    the refusal."""
    try:
        saved = await save()
    except PlannerError as exc:
        return page(template, user, status_code=exc.status_code, **await context(), form=form, error=exc.message)
    return Redirect(done(saved), status_code=303)


async def delete_after_confirming(user: User, template: str, ctx: dict, form: dict, confirmed: Any,
                                  delete: Callable[[], Awaitable[Any]], done: str) -> Template | Redirect:
    """A delete button's POST: first the page again asking to confirm (it says what is affected), then the
    deletion, or the page with the reason it was refused."""
    if confirmed != "yes":
        return page(template, user, **ctx, form=form, error=None, confirm_delete=True)
    try:
        await delete()
    except PlannerError as exc:
        return page(template, user, status_code=exc.status_code, **ctx, form=form, error=exc.message)
    return Redirect(done, status_code=303)


def need_login(user: User) -> dict:
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    return user
SESSION_COOKIE = "planner_session"


def client_address(request: Request) -> str:
    """The client's address: the connecting peer, or what a trusted proxy says in X-Forwarded-For
    (uvicorn's ProxyHeadersMiddleware, configured by PLANNER_TRUSTED_PROXIES, rewrites the peer)."""
    client = request.scope.get("client")
    return str(client[0]) if client else "unknown"


def as_dict(struct: Any) -> dict:
    """A msgspec struct's set fields as a dict (UNSET ones left out)."""
    if struct is None:
        return {}
    if isinstance(struct, dict):
        return struct
    return {f: getattr(struct, f) for f in struct.__struct_fields__ if getattr(struct, f) is not msgspec.UNSET}


async def current_user(request: Request) -> dict | None:
    """The user behind a bearer token, or behind the session cookie (which then needs the CSRF header on writes)."""
    cached = request.scope.get("planner_user", False)
    if cached is not False:
        return cached
    user = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = await user_for_token(auth[7:].strip(), now=utcnow())
        if user is None:
            raise NotAuthorizedException("The bearer token is not valid, has expired or was revoked.")
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            user = await user_for_session(secret, now=utcnow())
            if user and request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                header = request.headers.get("x-csrftoken")
                cookie = request.cookies.get("csrftoken")
                if not csrf_ok(header, cookie, get_settings().secret_key):
                    raise PermissionDeniedException("Missing or wrong CSRF token: send the x-csrftoken header.")
    request.scope["planner_user"] = user
    return user


async def provide_user(request: Request) -> dict | None:
    return await current_user(request)
