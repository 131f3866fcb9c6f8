"""Piccolo's SQLite engine with fewer thread hops on the hot paths.

Piccolo opens a new aiosqlite connection (a new OS thread) for every statement outside a
transaction and for every transaction, and sends `PRAGMA foreign_keys = 1` before every
statement inside one; profiled, those hand-offs were two thirds of a worker's time on a scan.
Here:
- statements outside a transaction share one long-lived autocommit connection per event loop
  (WAL keeps its reads consistent beside the writer);
- `planner.db.write_transaction()` reuses one writer connection per event loop: it is only ever
  used under the per-process write lock, so it is never shared by two transactions at once;
- the foreign-keys PRAGMA is set once per connection, when it opens.
"""
from __future__ import annotations

import asyncio
import contextvars
from typing import Any, Optional

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

use_writer: contextvars.ContextVar[bool] = contextvars.ContextVar("planner_sqlite_use_writer", default=False)


class _KeptConnection:
    """The writer connection as a transaction sees it: closing it keeps it open for the next one."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class PlannerSQLiteEngine(SQLiteEngine):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept: dict[tuple[int, str], aiosqlite.Connection] = {}
        self._opening: dict[tuple[int, str], asyncio.Lock] = {}

    async def _open(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _kept_connection(self, role: str) -> aiosqlite.Connection:
        key = (id(asyncio.get_running_loop()), role)
        conn = self._kept.get(key)
        if conn is not None:
            return conn
        lock = self._opening.setdefault(key, asyncio.Lock())
        async with lock:
            conn = self._kept.get(key)
            if conn is None:
                conn = await self._open()
                self._kept[key] = conn
        return conn

    async def get_connection(self):
        if use_writer.get():
            conn = await self._kept_connection("writer")
            if conn.in_transaction:
                # A transaction cut off mid-way (a cancelled request) must not leak into the next one.
                await conn.execute("ROLLBACK")
            return _KeptConnection(conn)
        return await self._open()

    async def close_kept(self) -> None:
        for key, conn in list(self._kept.items()):
            if key[0] == id(asyncio.get_running_loop()):
                await conn.close()
                del self._kept[key]

    async def _run_in_new_connection(self, query: str, args: Optional[list[Any]] = None, query_type: str = "generic",
                                     table=None):
        if query_type == "insert" and self.get_version_sync() < 3.35:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self._kept_connection("shared")
        # One statement at a time, run to its end: while any statement on a connection is still
        # stepping, SQLite keeps that connection's read snapshot, so interleaved statements would
        # not see writes committed meanwhile by the writer connection.
        async with self._statement_lock():
            async with connection.execute(query, args or []) as cursor:
                return await cursor.fetchall()

    def _statement_lock(self) -> asyncio.Lock:
        key = (id(asyncio.get_running_loop()), "shared-statement")
        lock = self._opening.get(key)
        if lock is None:
            lock = self._opening[key] = asyncio.Lock()
        return lock

    async def _run_in_existing_connection(self, connection, query: str, args: Optional[list[Any]] = None,
                                          query_type: str = "generic", table=None):
        if query_type == "insert" and self.get_version_sync() < 3.35:
            return await super()._run_in_existing_connection(connection, query, args, query_type, table)
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()
