"""Pushing check-ins to open dashboards: Litestar channels, in memory or over PostgreSQL LISTEN/NOTIFY,
and the stream of status updates each dashboard reads."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any

import anyio
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from planner import db
from planner.tickets.counts import live_status

log = logging.getLogger("planner.live")

# A dashboard hears of a change, waits this long for the rest of a burst of scans, then reads the counts once;
# under a steady stream of scans it reads them at most once per MIN_INTERVAL_SECONDS.
SETTLE_SECONDS = 0.3
MIN_INTERVAL_SECONDS = 1.0
# With nothing moving, counts are read again this often: a heartbeat, and a bound on staleness
# should a message be lost (or, on SQLite with several workers, never cross to this one).
REFRESH_SECONDS = 20.0
# Sent to subscribers when the LISTEN connection came back: messages may have been missed.
RESYNC = b'{"kind": "resync"}'



def channel_for(program_id: int) -> str:
    return f"planner_live_{int(program_id)}"


class _NeverRaise:
    """Litestar's publish worker stops for good at the first exception (and its shutdown then
    waits forever), so a backend's publish must not raise: a failed message is logged and dropped."""

    async def _send(self, data: bytes, channels: Iterable[str]) -> None:
        raise NotImplementedError

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        try:
            await self._send(data, list(channels))
        except Exception:  # noqa: BLE001
            log.warning("live update not delivered", exc_info=True)


class MemoryBackend(_NeverRaise, MemoryChannelsBackend):
    """One process only: SQLite."""

    async def _send(self, data: bytes, channels: Iterable[str]) -> None:
        await MemoryChannelsBackend.publish(self, data, channels)


class PostgresNotifyBackend(_NeverRaise, AsyncPgChannelsBackend):
    """LISTEN/NOTIFY, so a scan on one worker reaches dashboards on every worker.

    Litestar's backend with three changes: NOTIFY goes through the app's connection pool
    instead of a new connection per message; publishing never raises; and the one LISTEN
    connection is opened again, with its channels, when PostgreSQL drops it.
    """

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn=dsn)
        self._closing = False
        self._reconnect_task: asyncio.Task | None = None

    async def on_startup(self) -> None:
        self._closing = False
        await super().on_startup()
        self._listener_conn.add_termination_listener(self._connection_lost)

    async def on_shutdown(self) -> None:
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        await super().on_shutdown()

    async def _send(self, data: bytes, channels: Iterable[str]) -> None:
        pool = getattr(db.engine(), "pool", None)
        if pool is None:
            await AsyncPgChannelsBackend.publish(self, data, channels)
            return
        # A pooled connection outside any transaction: NOTIFY is sent at once.
        async with pool.acquire() as conn:
            for channel in channels:
                await conn.execute("SELECT pg_notify($1, $2)", channel, data.decode("utf-8"))

    def _connection_lost(self, _conn: Any) -> None:
        if self._closing or (self._reconnect_task is not None and not self._reconnect_task.done()):
            return
        self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.2
        while not self._closing:
            conn = None
            try:
                conn = await self._connect()
                async with self._listener_lock:
                    for channel in self._subscribed_channels:
                        await conn.add_listener(channel, self._listener)
                    self._listener_conn = conn
                conn.add_termination_listener(self._connection_lost)
            except Exception:  # noqa: BLE001
                if conn is not None and conn is not self._listener_conn:
                    with contextlib.suppress(Exception):
                        await conn.close()
                log.warning("live updates: cannot listen on PostgreSQL, retrying in %.1f s", delay, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            log.info("live updates: listening on PostgreSQL again")
            if self._queue is not None:
                for channel in list(self._subscribed_channels):
                    self._queue.put_nowait((channel, RESYNC))
            return


class LiveChannels(ChannelsPlugin):
    """Litestar's ChannelsPlugin that knows whether it is running (the server's lifespan entered it)."""

    running = False

    async def __aenter__(self) -> "LiveChannels":
        await super().__aenter__()
        self.running = True
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.running = False
        await super().__aexit__(*exc)


def channels_plugin(settings: Any) -> ChannelsPlugin:
    """The channels of the live dashboard: LISTEN/NOTIFY on PostgreSQL, in memory on SQLite."""
    backend = MemoryBackend() if settings.is_sqlite else PostgresNotifyBackend(settings.database_url)
    # A slow dashboard keeps only its newest messages: each one just says "read the counts again".
    return LiveChannels(backend=backend, arbitrary_channels_allowed=True,
                        subscriber_max_backlog=50, subscriber_backlog_strategy="dropleft")


def plugin_of(app_or_channels: Any) -> ChannelsPlugin | None:
    if isinstance(app_or_channels, ChannelsPlugin):
        return app_or_channels
    # Any ChannelsPlugin, subclasses included (the registry's get() matches the exact type only).
    return next((p for p in getattr(app_or_channels, "plugins", ()) if isinstance(p, ChannelsPlugin)), None)


def running_plugin(app_or_channels: Any) -> ChannelsPlugin | None:
    """The plugin if it can carry messages now (registered, and started by the server's lifespan)."""
    plugin = plugin_of(app_or_channels)
    return plugin if plugin is not None and getattr(plugin, "running", True) else None


async def publish_checkin(app_or_channels: Any, program_id: int, payload: dict) -> None:
    """Tell the programme's open dashboards that something moved. Call after the transaction commits.

    Only puts the message on the plugin's queue (its worker sends it); never raises.
    """
    try:
        plugin = running_plugin(app_or_channels)
        if plugin is not None:
            plugin.publish(payload, channel_for(program_id))
    except Exception:  # noqa: BLE001
        log.debug("live update not queued for programme %s", program_id, exc_info=True)


async def publish_scans(app_or_channels: Any, results: Iterable[dict]) -> None:
    """For the scan handlers: one message per programme that had an admission. Never raises.

    Every scan result names its programme (`program_id`, from decide.result), so nothing is looked up here.
    """
    try:
        if running_plugin(app_or_channels) is None:
            return
        moved: dict[int, list[dict]] = {}
        for r in results:
            if not isinstance(r, dict) or r.get("result") != "admitted" or r.get("replay"):
                continue
            aid, pid = (r.get("activity") or {}).get("id"), r.get("program_id")
            if aid is None or pid is None:
                continue
            moved.setdefault(pid, []).append({"activity_id": aid, "slot_id": r.get("slot_id"), "party": r.get("party")})
        for pid, items in moved.items():
            await publish_checkin(app_or_channels, pid, {"kind": "checkin", "items": items[:50]})
    except Exception:  # noqa: BLE001
        log.debug("live update for scans not queued", exc_info=True)


async def status_updates(plugin: ChannelsPlugin, program_id: int, *, user: dict | None, day: Any,
                         clock: Callable[[], datetime]) -> AsyncIterator[tuple[dict, list[int]]]:
    """The day's counts now, then again after each change on the programme's channel.

    Yields (status, ids of the activities that moved). Subscribes before the first read, so
    nothing that happens in between is missed.
    """
    channel = channel_for(program_id)
    subscriber = await plugin.subscribe(channel)
    woke = asyncio.Event()
    moved: set[int] = set()

    async def listen() -> None:
        async for message in subscriber.iter_events():
            with contextlib.suppress(Exception):  # any message, well-formed or not, means "read again"
                for item in json.loads(message).get("items") or []:
                    moved.add(int(item["activity_id"]))
            woke.set()

    listener = asyncio.create_task(listen())
    loop = asyncio.get_running_loop()
    try:
        yield await live_status(program_id, user=user, day=day, now=clock()), []
        last = loop.time()
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(woke.wait(), timeout=REFRESH_SECONDS)
            if woke.is_set():
                await asyncio.sleep(max(SETTLE_SECONDS, last + MIN_INTERVAL_SECONDS - loop.time()))
            woke.clear()
            last = loop.time()
            changed = sorted(moved)
            moved.clear()
            yield await live_status(program_id, user=user, day=day, now=clock()), changed
    finally:
        listener.cancel()
        # A closed connection cancels this generator; the unsubscribe must still run.
        with anyio.move_on_after(5, shield=True):
            try:
                await plugin.unsubscribe(subscriber, channel)
            except Exception:  # noqa: BLE001
                log.warning("live updates: unsubscribe failed", exc_info=True)
