"""Group commit: short writes that arrive at the same moment share one transaction and one commit.

On PostgreSQL a short write spends most of its time waiting for its commit to reach the disk
(WALWrite and WALSync were three quarters of the scan's waits). Here one task per process and per
kind of write takes every write waiting, runs them one after another on one connection inside one
transaction, commits once, and only then answers each caller with its own result. While a group's
commit is being flushed, the next group already runs (on another connection; at most
MAX_COMMITTING commits in flight).

Correctness never depends on it:
- each write is the same whole statement it would be alone; its conditions and row locks decide,
  and it sees the writes before it in the group as committed work of its own transaction;
- several processes each group their own writes; the database arbitrates between them. So that two
  processes' groups cannot deadlock, a group runs its writes sorted by a key its caller gives (the
  ticket code, the slot), after an optional `before` step that locks what they share (kit shelves)
  in id order;
- if the shared transaction fails as a whole (a deadlock between two processes' groups, a unique
  key violated, a lost connection), nothing of it was committed and every write in it runs again
  alone, as if there had been no grouping;
- a caller hears of its write only after the commit that holds it.

A write is an async function of a connection returning (result, after): `after`, if not None, is
awaited by the caller once the commit is done (an alert, a notification). A write may raise a
non-database exception only before it has written anything (it is then that caller's answer); a
database error fails the group.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Awaitable, Callable, Generic, TypeVar

import asyncpg

from planner.settings import get_settings

T = TypeVar("T")
After = Callable[[], Awaitable[Any]] | None
Write = Callable[[Any], Awaitable[tuple[T, After]]]
Item = tuple[Write, asyncio.Future, Any]  # a write, its caller's future, its ordering key
# Given a group's keys, in order: a statement sent with the group's BEGIN (one round trip) that takes
# the locks its writes will need in one global order (for the scans: their kit shelves, by id), or
# None. It is plain SQL text with no parameters, so it must quote nothing it did not check.
Before = Callable[[list[Any]], str | None]

# A group larger than this waits for the next commit: a bound on the time one transaction holds its locks.
MAX_GROUP = 64
# Groups whose commit may be in flight at once, while the next group runs.
MAX_COMMITTING = 3
_FAILED_GROUP = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class GroupCommit(Generic[T]):
    """One per kind of write. `await group.run(write, pool)` returns the write's result after its commit."""

    def __init__(self, name: str, max_group: int = MAX_GROUP, before: Before | None = None) -> None:
        self.name = name
        self.max_group = max_group
        self.before = before
        self._queue: list[tuple[Write, asyncio.Future, Any]] = []
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Counts for the benchmark and the tests: groups committed, writes in them, groups run again alone.
        self.groups = self.writes = self.replayed = 0

    async def run(self, write: Write, pool: Any, key: Any = 0) -> T:
        """`key` orders the writes of a group (stable: arrival order among equal keys), so that groups
        in several processes take their row locks in one order and cannot deadlock one another."""
        loop = asyncio.get_running_loop()
        if not get_settings().group_commit:  # PLANNER_GROUP_COMMIT=0: every write alone (for comparison)
            future = loop.create_future()
            await self._alone((write, future, key), pool)
            result, after = await future
            if after is not None:
                await after()
            return result
        if self._loop is not loop:  # a new event loop (a test, a restarted worker): start afresh
            self._loop, self._queue, self._task = loop, [], None
        future: asyncio.Future = loop.create_future()
        self._queue.append((write, future, key))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(pool), name=f"group-commit-{self.name}")
        result, after = await future
        if after is not None:
            await after()
        return result

    async def _drain(self, pool: Any) -> None:
        committing: set[asyncio.Task] = set()
        while True:
            while self._queue:
                group, self._queue = self._queue[: self.max_group], self._queue[self.max_group:]
                if len(group) == 1 and not committing:
                    # One statement commits by itself: no BEGIN/COMMIT round trips. (It takes its locks in
                    # its own order; should it meet a group holding what it wants and wanting what it holds,
                    # the same ticket at two gates of two processes at once, PostgreSQL breaks the tie
                    # within a second and the loser runs again: slower, never wrong.)
                    await self._alone(group[0], pool)
                    continue
                started = await self._execute(group, pool)
                if started is None:
                    continue  # failed as a whole, and run again alone
                # The commit's flush goes on while the next group runs: that group may wait on this one's
                # row locks, never the other way round (this one has run all it will), so no deadlock.
                task = asyncio.get_running_loop().create_task(self._commit(group, *started, pool=pool))
                committing.add(task)
                task.add_done_callback(committing.discard)
                if len(committing) >= MAX_COMMITTING:
                    await asyncio.wait(committing, return_when=asyncio.FIRST_COMPLETED)
            if not committing:
                return  # nothing queued and nothing in flight: the next caller starts a new drain
            await asyncio.wait(committing, return_when=asyncio.FIRST_COMPLETED)

    async def _execute(self, group: list[Item], pool: Any) -> tuple[Any, Any, list] | None:
        """Run the group's writes in one open transaction: (connection, transaction, outcomes), or None
        when the group failed as a whole (then every write has been run again alone)."""
        try:
            conn = await pool.acquire()
        except _FAILED_GROUP:
            await self._replay(group, pool)  # each write then hears the error itself
            return None
        tx = _Tx(conn)
        outcomes: list[tuple[bool, Any]] = []
        group.sort(key=lambda item: item[2])
        try:
            # BEGIN and the `before` step's locks in one round trip.
            await tx.start(self.before([item[2] for item in group]) if self.before is not None else None)
            for write, _, _ in group:
                try:
                    outcomes.append((True, await write(conn)))
                except _FAILED_GROUP:
                    raise
                except Exception as exc:  # noqa: BLE001 - this caller's own answer (it wrote nothing)
                    outcomes.append((False, exc))
        except _FAILED_GROUP:
            with contextlib.suppress(Exception):
                await tx.rollback()
            await pool.release(conn)
            await self._replay(group, pool)
            return None
        except BaseException:
            with contextlib.suppress(Exception):
                await tx.rollback()
            await pool.release(conn)
            raise
        return conn, tx, outcomes

    async def _commit(self, group: list[Item], conn: Any, tx: Any, outcomes: list, *, pool: Any) -> None:
        try:
            await tx.commit()
        except _FAILED_GROUP:
            with contextlib.suppress(Exception):
                await tx.rollback()
            await pool.release(conn)
            await self._replay(group, pool)
            return
        except BaseException:
            await pool.release(conn)
            raise
        await pool.release(conn)
        self.groups += 1
        self.writes += len(group)
        for (_, future, _), (ok, value) in zip(group, outcomes):
            if future.done():  # the caller went away; its write is committed all the same
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _replay(self, group: list[Item], pool: Any) -> None:
        self.replayed += 1
        for item in group:
            await self._alone(item, pool)

    @staticmethod
    async def _alone(item: Item, pool: Any) -> None:
        write, future, _ = item
        try:
            async with pool.acquire() as conn:
                value = await write(conn)
        except Exception as exc:  # noqa: BLE001 - handed to the caller, who raises it
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(value)


class _Tx:
    """A transaction begun with a statement of its own in the same round trip (asyncpg's Transaction
    sends BEGIN alone)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def start(self, first: str | None) -> None:
        await self.conn.execute(f"BEGIN; {first}" if first else "BEGIN")

    async def commit(self) -> None:
        await self.conn.execute("COMMIT")

    async def rollback(self) -> None:
        if self.conn.is_in_transaction():
            await self.conn.execute("ROLLBACK")
