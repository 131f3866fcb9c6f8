"""Database helpers shared by every area: the engine, write transactions, row locks, migrations.

Writes that guard an invariant go through `write_transaction()`: on SQLite an
IMMEDIATE transaction (the guarantee across processes) behind one asyncio.Lock
per process (for speed: waiting writers queue here instead of spinning on the
busy timeout); on PostgreSQL a plain transaction, with the guarded rows locked
by `locked()` (SELECT ... FOR UPDATE).
"""
from __future__ import annotations

import asyncio
import contextlib
from contextvars import ContextVar
from typing import Any, AsyncIterator

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import TransactionType
from piccolo.query.methods.select import Select
from piccolo.table import Table

from planner.sqlite_engine import use_writer

# The write transaction this task is inside, if any: a nested write_transaction() joins it.
_writing: ContextVar[Any] = ContextVar("planner_write_transaction", default=None)
_sqlite_lock: asyncio.Lock | None = None
_lock_loop = None


def engine():
    return engine_finder()


def is_postgres() -> bool:
    return engine().engine_type == "postgres"


def _lock() -> asyncio.Lock:
    global _sqlite_lock, _lock_loop
    loop = asyncio.get_running_loop()
    if _sqlite_lock is None or _lock_loop is not loop:
        _sqlite_lock = asyncio.Lock()
        _lock_loop = loop
    return _sqlite_lock


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """Reentrant: inside a write transaction, a nested one joins it (one commit, at the outermost end)."""
    current = _writing.get()
    if current is not None:
        yield current
        return
    async with _own_write_transaction() as tx:
        mark = _writing.set(tx)
        try:
            yield tx
        finally:
            _writing.reset(mark)


@contextlib.asynccontextmanager
async def _own_write_transaction() -> AsyncIterator[Any]:
    db = engine()
    if db.engine_type == "sqlite":
        async with _lock():
            # Under the lock, the engine hands this transaction its one kept writer connection.
            token = use_writer.set(True)
            try:
                async with db.transaction(transaction_type=TransactionType.immediate) as tx:
                    use_writer.reset(token)
                    token = None
                    yield tx
            finally:
                if token is not None:
                    use_writer.reset(token)
    else:
        async with db.transaction() as tx:
            yield tx


def free_pool():
    """PostgreSQL's pool for a one-statement fast path, or None: on SQLite, before `start()`, and
    inside a transaction, whose uncommitted rows another connection from the pool could not see."""
    db = engine()
    pool = getattr(db, "pool", None)
    if pool is None or db.current_transaction.get() is not None:
        return None
    return pool


def locked(query: Select) -> Select:
    """SELECT ... FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises."""
    if is_postgres():
        return query.lock_rows()
    return query


async def raw(sql: str, *args: Any) -> list[dict]:
    """A raw statement with `{}` placeholders, run in the current transaction if there is one."""
    return await _Engine.raw(sql, *args)


class _Engine(Table, tablename="health_probe"):
    """Not a table of the schema (migrations make health_probe): a handle on the configured engine for raw()."""


async def probe_write(now: Any) -> None:
    """A committed write to the one-row health_probe table: fails when the database cannot write
    (down, read-only, disk full)."""
    async with write_transaction():
        await raw("UPDATE health_probe SET at = {} WHERE id = 1", now)


async def _reset_connection(conn) -> None:
    """What a connection needs on its way back to the pool. asyncpg's default also runs
    UNLISTEN/RESET ALL/advisory unlock on every release: a round trip and ~10% of a worker's
    CPU on the scan. Nothing here sets session state (LISTEN has its own connection), so
    only an unfinished transaction needs undoing."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def start() -> None:
    db = engine()
    if db.engine_type == "postgres":
        await db.start_connection_pool(min_size=2, max_size=20, reset=_reset_connection)
    else:
        # WAL lets readers run beside the one writer; the setting is kept in the file.
        await db.run_ddl("PRAGMA journal_mode=WAL")


async def stop() -> None:
    db = engine()
    if db.engine_type == "postgres" and getattr(db, "pool", None) is not None:
        with contextlib.suppress(Exception):
            await db.close_connection_pool()
    if hasattr(db, "close_kept"):
        with contextlib.suppress(Exception):
            await db.close_kept()


async def migrate() -> None:
    result = await run_forwards(app_name="planner", migration_id="all", fake=False)
    if not result.success:
        raise RuntimeError(f"Migrations failed: {result.message}")
