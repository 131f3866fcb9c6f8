"""What every controller shares: the current user, struct conversion, page rendering helpers."""
from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from planner.accounts.rules import user_by_id, user_for_token
from planner.boundary import csrf_ok
from planner.settings import get_settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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
        user = await user_for_token(auth[7:].strip())
        if user is None:
            raise NotAuthorizedException("The bearer token is not valid.")
    else:
        uid = request.session.get("user_id") if "session" in request.scope else None
        if uid:
            user = await user_by_id(int(uid))
            if user and request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                header = request.headers.get("x-csrftoken")
                cookie = request.cookies.get("csrftoken")
                if not csrf_ok(header, cookie, get_settings().secret_key):
                    raise PermissionDeniedException("Missing or wrong CSRF token: send the x-csrftoken header.")
    request.scope["planner_user"] = user
    return user


async def provide_user(request: Request) -> dict | None:
    return await current_user(request)
