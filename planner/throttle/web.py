"""The throttle at the HTTP edge for guesses a stranger can make without an account: unknown guest
tokens (any URL with `?token=`), unknown invite codes and mass RSVPs (the RSVP-create endpoints).

`check_guesses` runs before the handler and refuses with 429 once a client has made too many;
`GuessCounter` counts after the answer is sent, from its status: a 404 to a token or invite code is
a wrong guess, a 2xx/3xx to an RSVP-create call is one RSVP made.
"""
from __future__ import annotations

import re
from datetime import timedelta

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from planner.clock import utcnow
from planner.settings import get_settings
from planner.throttle import rules as throttle

WINDOW = timedelta(minutes=10)
TOKEN_GUESSES = 30
INVITE_GUESSES = 10
RSVP_CREATE = re.compile(r"^/(api/activities/\d+/rsvps|a/\d+)/?$")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _limits(method: str, path: str, query: bytes, client: str) -> list[tuple[throttle.Limit, str]]:
    """(limit, what counts as an attempt) for this request: "404" or "ok"."""
    out = []
    if re.search(rb"(^|&)token=", query):
        out.append((throttle.Limit(f"guess:token:{client}", TOKEN_GUESSES, WINDOW), "404"))
    if method == "POST" and RSVP_CREATE.match(path):
        out.append((throttle.Limit(f"guess:invite:{client}", INVITE_GUESSES, WINDOW), "404"))
        per_client = get_settings().rsvp_client_limit
        if per_client:
            out.append((throttle.Limit(f"rsvp:client:{client}", per_client, WINDOW), "ok"))
    return out


async def check_guesses(request: Request) -> None:
    limits = _limits(request.method, request.url.path, request.scope.get("query_string", b""), _client(request.scope))
    if limits:
        await throttle.check(*(limit for limit, _ in limits), now=utcnow(),
                             message="Too many tries from your connection in a short time.")


class GuessCounter:
    """ASGI middleware: counts attempts for `check_guesses` once the answer is on its way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = _limits(scope["method"], scope["path"], scope.get("query_string", b""), _client(scope))
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
        ok = 200 <= status < 400
        keys = [limit.key for limit, when in limits if (when == "404" and status == 404) or (when == "ok" and ok)]
        if keys:
            await throttle.hit(*keys, now=utcnow(), keep=WINDOW)
