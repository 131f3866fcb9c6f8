"""How busy this process is answering requests, so that background work (the outbox worker) can give
way to people waiting for an answer.

Mail is not urgent by the second; an answer at the door or to an RSVP is. While any request is in
flight, the worker rests after each message for a multiple of the time that message took
(`GIVE_WAY`), so that it takes at most 1 / (1 + GIVE_WAY) of the process while it is busy, and all
of it when idle. It never stops: under constant load mail still moves at that share.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

GIVE_WAY = 3.0  # under load, the worker rests three times as long as it worked: at most a quarter of the process
MAX_REST = 0.5  # seconds; a slow message (a stalled SMTP server) does not make the worker rest for long

_in_flight = 0


def in_flight() -> int:
    return _in_flight


class InFlight:
    """ASGI middleware: counts the HTTP requests being answered in this process."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        global _in_flight
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            _in_flight -= 1


class GiveWay:
    """Times a piece of background work and, if requests are waiting, rests in proportion afterwards."""

    def __init__(self) -> None:
        self.rested = 0.0  # seconds rested in all (for the tests and the benchmark's notes)
        self.spent = 0.0  # seconds the last piece of work took

    def __enter__(self) -> GiveWay:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.spent = time.perf_counter() - self._t0

    async def rest(self) -> None:
        if _in_flight > 0:
            pause = min(self.spent * GIVE_WAY, MAX_REST)
            self.rested += pause
            await asyncio.sleep(pause)
