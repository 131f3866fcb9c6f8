"""Ceiling (b): a minimal Litestar + Piccolo endpoint: one indexed SELECT, one conditional UPDATE.

The same engine as the planner under test (BENCH_CEILING_DB: sqlite:///... or postgresql://...),
configured as the planner configures it (SQLite busy timeout 30 s and WAL; a PostgreSQL pool of
2 to 20), on its own table `bench_ceiling` that the bench creates and fills before starting it.
Every request names an unused code, so every UPDATE really writes and commits, like an admission.
"""
from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from urllib.parse import unquote, urlparse

import msgspec
from litestar import Litestar, get, post
from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table

TABLE = "bench_ceiling"


def make_engine(url: str):
    if url.startswith("sqlite"):
        from piccolo.engine.sqlite import SQLiteEngine

        return SQLiteEngine(path=url.split("sqlite:///", 1)[1], timeout=30)
    from piccolo.engine.postgres import PostgresEngine

    u = urlparse(url)
    config = {"host": u.hostname or "127.0.0.1", "port": u.port or 5432,
              "database": (u.path or "/").lstrip("/") or "postgres",
              "user": unquote(u.username) if u.username else "postgres"}
    if u.password:
        config["password"] = unquote(u.password)
    return PostgresEngine(config=config)


ENGINE = make_engine(os.environ.get("BENCH_CEILING_DB", "sqlite:///bench-ceiling.db"))


class CeilingTicket(Table, tablename=TABLE, db=ENGINE):
    code = Varchar(length=64, unique=True, index=True)
    used_at = Timestamptz(null=True, default=None)


class ScanIn(msgspec.Struct):
    code: str


_write_lock: asyncio.Lock | None = None


@post("/api/checkins", status_code=200)
async def scan(data: ScanIn) -> dict[str, str]:
    row = await CeilingTicket.select(CeilingTicket.id).where(CeilingTicket.code == data.code).first()
    if row is None:
        return {"result": "invalid"}
    update = CeilingTicket.update({CeilingTicket.used_at: datetime.now(timezone.utc)}).where(
        (CeilingTicket.id == row["id"]) & CeilingTicket.used_at.is_null()
    ).returning(CeilingTicket.id)
    if _write_lock is not None:
        # As the planner does on SQLite: one process's writers queue on a lock, not on the busy timeout.
        async with _write_lock:
            done = await update
    else:
        done = await update
    return {"result": "admitted" if done else "already_checked_in"}


@get("/health")
async def health() -> dict[str, str]:
    await CeilingTicket.select(CeilingTicket.id).limit(1)
    return {"status": "ok"}


async def _start() -> None:
    global _write_lock
    if ENGINE.engine_type == "postgres":
        await ENGINE.start_connection_pool(min_size=2, max_size=20)
    else:
        _write_lock = asyncio.Lock()


async def _stop() -> None:
    if ENGINE.engine_type == "postgres":
        await ENGINE.close_connection_pool()


def create_app() -> Litestar:
    return Litestar(route_handlers=[scan, health], on_startup=[_start], on_shutdown=[_stop], openapi_config=None)
