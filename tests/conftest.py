"""Test setup: the same suite on SQLite and PostgreSQL, switched by PLANNER_TEST_DB (sqlite | postgres).

Each run gets a fresh database (a temp SQLite file, or a new PostgreSQL database on
127.0.0.1:5432 that is dropped afterwards); each test starts from empty tables.
"""
from __future__ import annotations

import os
import tempfile
import uuid

import pytest

ENGINE = os.environ.get("PLANNER_TEST_DB", "sqlite")
PG_ADMIN = os.environ.get("PLANNER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# Kept in the environment so that importing this module twice (as `conftest` and as
# `tests.conftest`) names the same database.
_tmp = os.environ.setdefault("PLANNER_TEST_TMP", tempfile.mkdtemp(prefix="planner-test-"))
_pg_name = os.environ.setdefault("PLANNER_TEST_PG_NAME", f"planner_test_{uuid.uuid4().hex[:10]}")

if ENGINE == "postgres":
    base = PG_ADMIN.rsplit("/", 1)[0]
    os.environ["PLANNER_DATABASE_URL"] = f"{base}/{_pg_name}"
elif ENGINE == "sqlite":
    os.environ["PLANNER_DATABASE_URL"] = f"sqlite:///{_tmp}/test.db"
else:
    raise RuntimeError("PLANNER_TEST_DB must be sqlite or postgres")
os.environ.setdefault("PLANNER_SECRET_KEY", "test-secret-key-0123456789abcdef")
os.environ.setdefault("PLANNER_BASE_URL", "http://testserver.local")
os.environ.pop("PLANNER_SMTP_HOST", None)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pytest_report_header(config):
    return f"planner database engine: {ENGINE} ({os.environ['PLANNER_DATABASE_URL']})"


@pytest.fixture(scope="session", autouse=True)
async def database():
    if ENGINE == "postgres":
        # Fails loudly if PostgreSQL is not there: a PostgreSQL run must never be skipped silently.
        await _pg_admin(f'CREATE DATABASE "{_pg_name}"')
    from planner import db

    await db.migrate()
    yield
    await db.stop()
    if ENGINE == "postgres":
        await _pg_admin(f'DROP DATABASE IF EXISTS "{_pg_name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
async def clean_tables(database):
    from planner import db
    from planner.piccolo_app import TABLES

    names = [t._meta.tablename for t in TABLES]
    if ENGINE == "postgres":
        await db.raw("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
    else:
        for n in reversed(names):
            await db.raw(f'DELETE FROM "{n}"')
    yield
    # After every test, each slot's seat counters equal what its RSVP rows say.
    from planner.rsvps.seats import mismatched_slots

    try:
        bad = await mismatched_slots()
    except Exception:  # noqa: BLE001 - a fault test left the database stopped; it checks its own data
        return
    assert bad == [], f"slot counters differ from their RSVP rows: {bad}"


@pytest.fixture
async def app():
    from planner.app import create_app

    return create_app(run_worker=False)


@pytest.fixture
async def client(app):
    """httpx over ASGI in the test's own event loop, so asyncio.gather() really runs requests concurrently
    (Litestar's AsyncTestClient runs the app in a portal thread, one request at a time)."""
    import httpx

    # The app's own startup and shutdown hooks, called here (anyio's lifespan task group would
    # have to be left in the task that entered it, which async fixtures do not guarantee).
    for hook in app.on_startup:
        await hook()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            yield c
    finally:
        for hook in app.on_shutdown:
            await hook()


class Api:
    """Small helpers over the real HTTP API."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token
        self.h = {"Authorization": f"Bearer {token}"}

    async def post(self, url, json=None, expect=None, **kw):
        r = await self.client.post(url, json=json, headers=self.h, **kw)
        if expect is not None:
            assert r.status_code == expect, (r.status_code, r.text)
        return r

    async def get(self, url, expect=None, **kw):
        r = await self.client.get(url, headers=self.h, **kw)
        if expect is not None:
            assert r.status_code == expect, (r.status_code, r.text)
        return r

    async def patch(self, url, json=None, expect=None):
        r = await self.client.patch(url, json=json, headers=self.h)
        if expect is not None:
            assert r.status_code == expect, (r.status_code, r.text)
        return r

    async def program(self, **kw) -> dict:
        body = {"name": "Riverside Festival 2027", "timezone": "America/New_York", "country": "US",
                "starts_on": "2027-07-01", "ends_on": "2027-07-07", **kw}
        return (await self.post("/api/programs", body, expect=201)).json()

    async def space(self, program_id, name="Wellness tent", capacity=40, **kw) -> dict:
        return (await self.post(f"/api/programs/{program_id}/spaces", {"name": name, "capacity": capacity, **kw}, expect=201)).json()

    async def activity(self, program_id, space_id, expect=201, **kw) -> dict:
        body = {"kind": "activation", "title": "Breathwork", "space_id": space_id,
                "starts_at": "2027-07-02T10:00", "ends_at": "2027-07-02T11:00", "capacity": 10, "rsvp_mode": "open", **kw}
        r = await self.post(f"/api/programs/{program_id}/activities", body, expect=expect)
        return r.json()


async def make_user(email="organizer@example.org", password="correct horse battery", admin=True) -> dict:
    from planner.accounts.rules import create_user

    return await create_user(email, password, admin=admin)


@pytest.fixture
async def api(client) -> Api:
    await make_user()
    r = await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    return Api(client, r.json()["token"])


@pytest.fixture
async def setup(api) -> dict:
    """A programme with one space, as most tests need."""
    p = await api.program()
    s = await api.space(p["id"])
    return {"program": p, "space": s}
