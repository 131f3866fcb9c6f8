"""The outbox worker gives way to requests in flight (planner.busy): it rests after each message in
proportion to the time the message took, only while a request is being answered, and never for long."""
from __future__ import annotations

import asyncio
import time

from planner import busy


def _work(seconds: float) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pass


async def test_rests_only_while_a_request_is_in_flight_and_in_proportion():
    inside = asyncio.Event()
    release = asyncio.Event()

    async def app(scope, receive, send):  # a request that takes its time
        inside.set()
        await release.wait()

    way = busy.GiveWay()
    with way:
        _work(0.02)
    await way.rest()
    assert way.rested == 0 and busy.in_flight() == 0  # idle: mail goes at full speed

    request = asyncio.create_task(busy.InFlight(app)({"type": "http"}, None, None))
    await inside.wait()
    assert busy.in_flight() == 1
    t0 = time.perf_counter()
    await way.rest()
    waited = time.perf_counter() - t0
    assert way.rested >= 0.02 * busy.GIVE_WAY * 0.99 and waited >= 0.02 * busy.GIVE_WAY * 0.9

    with way:
        _work(1.0)  # a slow message (a stalled SMTP server) does not make the worker rest for long
    before = way.rested
    await way.rest()
    assert way.rested - before == busy.MAX_REST

    release.set()
    await request
    assert busy.in_flight() == 0
    await way.rest()
    assert way.rested - before == busy.MAX_REST  # nothing more once the request is answered


async def test_a_request_that_fails_is_still_counted_out():
    async def app(scope, receive, send):
        raise RuntimeError("boom")

    try:
        await busy.InFlight(app)({"type": "http"}, None, None)
    except RuntimeError:
        pass
    assert busy.in_flight() == 0
