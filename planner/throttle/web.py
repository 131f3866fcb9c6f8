"""The throttle at the HTTP edge for guesses a stranger can make without an account: unknown guest
tokens (any URL with `?token=`), unknown invite codes and mass RSVPs (the RSVP-create endpoints).

`check_guesses` runs before the handler and refuses with 429 once a client has made too many (an
RSVP-create call is counted there, as an attempt); `GuessCounter` counts after the answer is sent:
a 404 to a token or an RSVP-create call (an unknown invite code or activity) is a wrong guess.
"""
from __future__ import annotations

import re
from datetime import timedelta

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from planner.clock import utcnow
from planner.i18n import _l
from planner.settings import get_settings
from planner.throttle import rules as throttle

WINDOW = timedelta(minutes=10)
TOKEN_GUESSES = 30
INVITE_GUESSES = 10
RSVP_CREATE = re.compile(r"^/(api/activities/\d+/rsvps|a/\d+)/?$")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _limits(method: str, path: str, query: bytes, client: str) -> tuple[list[throttle.Limit], str | None]:
    """The limits for this request, and the key each attempt is counted under up front (if any);
    404s are counted after the answer under every key but that one."""
    limits, upfront = [], None
    if re.search(rb"(^|&)token=", query):
        limits.append(throttle.Limit(f"guess:token:{client}", TOKEN_GUESSES, WINDOW))
    if method == "POST" and RSVP_CREATE.match(path):
        limits.append(throttle.Limit(f"guess:invite:{client}", INVITE_GUESSES, WINDOW))
        per_client = get_settings().rsvp_client_limit
        if per_client:
            limits.append(throttle.Limit(f"rsvp:client:{client}", per_client, WINDOW))
            upfront = limits[-1].key
    return limits, upfront


async def check_guesses(request: Request) -> None:
    limits, upfront = _limits(request.method, request.url.path, request.scope.get("query_string", b""), _client(request.scope))
    if not limits:
        return
    message = _l("Too many tries from your connection in a short time.")
    if upfront:
        # On the RSVP path: check every limit and count this RSVP in one statement.
        await throttle.take(*limits, count=upfront, now=utcnow(), message=message)
    else:
        await throttle.check(*limits, now=utcnow(), message=message)


class GuessCounter:
    """ASGI middleware: counts wrong guesses (404s) for `check_guesses` once the answer is on its way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits, upfront = _limits(scope["method"], scope["path"], scope.get("query_string", b""), _client(scope))
        if not limits:
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_wrapper)
        if status == 404:
            await throttle.hit(*(limit.key for limit in limits if limit.key != upfront), now=utcnow())
