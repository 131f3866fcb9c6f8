"""Honest answers under faults: a database that is down or cannot write answers 503 with Retry-After
and "nothing was changed", pages and API alike; /health writes to know. Faults are real: PostgreSQL
backends terminated and the database closed to connections or made read-only; SQLite on a full
file system (a small tmpfs). (A tmpfs cannot be remounted read-only while the server holds the file open.)"""
from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest

from planner.scheduling.tables import Space
from tests.conftest import ENGINE, PG_ADMIN
from tests.trust.server import env_for, run, serving

NOTHING_CHANGED = "nothing was changed"


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()
    await asyncio.sleep(0.5)  # let the app's pooled connections see their server processes go


def _db_name() -> str:
    import os

    return os.environ["PLANNER_DATABASE_URL"].rsplit("/", 1)[1]


def _kick(name: str) -> str:
    return f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text[:300])
    assert int(r.headers["retry-after"]) > 0
    assert NOTHING_CHANGED in r.text


@pytest.mark.skipif(ENGINE != "postgres", reason="PostgreSQL faults")
async def test_postgres_down_answers_503_with_retry_after(api, setup, client):
    name, pid = _db_name(), setup["program"]["id"]
    await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false', _kick(name))
    try:
        _assert_unavailable(await api.post(f"/api/programs/{pid}/spaces", {"name": "Tent B", "capacity": 5}))
        _assert_unavailable(await api.post("/api/checkins", {"code": "x" * 22}))
        _assert_unavailable(await client.get(f"/p/{pid}", headers={"accept": "text/html"}))
        page = await client.get(f"/p/{pid}", headers={"accept": "text/html"})
        assert "<html" in page.text.lower()
        health = await client.get("/health")
        assert health.status_code == 503 and health.headers["retry-after"]
    finally:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    # Back again: the refused write was not half-done, the next one goes through.
    assert (await client.get("/health")).status_code == 200
    await api.post(f"/api/programs/{pid}/spaces", {"name": "Tent B", "capacity": 5}, expect=201)
    assert await Space.count() == 2


@pytest.mark.skipif(ENGINE != "postgres", reason="PostgreSQL faults")
async def test_postgres_read_only_answers_503_and_reads_still_work(api, setup, client):
    name, pid = _db_name(), setup["program"]["id"]
    await _admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on', _kick(name))
    try:
        _assert_unavailable(await api.post(f"/api/programs/{pid}/spaces", {"name": "Tent B", "capacity": 5}))
        assert (await client.get("/health")).status_code == 503
        assert (await api.get(f"/api/programs/{pid}")).status_code == 200
    finally:
        await _admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only', _kick(name))
    assert (await client.get("/health")).status_code == 200
    assert await Space.count() == 1


@contextlib.contextmanager
def _tmpfs(path: Path, size: str = "4m"):
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


@pytest.mark.skipif(ENGINE != "sqlite", reason="SQLite faults")
def test_sqlite_full_disk_answers_503_and_recovers(tmp_path):
    disk = tmp_path / "disk"
    with _tmpfs(disk):
        env = env_for(f"sqlite:///{disk}/planner.db", PLANNER_SECRET_KEY="fault-test-secret-0123456789")
        made = run(["user", "add", "org@example.org", "--password-stdin", "--admin"], env, stdin="correct horse battery\n")
        assert made.returncode == 0, made.stderr
        with serving(env, tmp_path) as base, httpx.Client(base_url=base, timeout=30) as c:
            token = c.post("/api/auth/token", json={"email": "org@example.org", "password": "correct horse battery"}).json()["token"]
            h = {"Authorization": f"Bearer {token}"}
            body = {"name": "Fest", "timezone": "Europe/London", "country": "GB", "starts_on": "2027-07-01", "ends_on": "2027-07-03"}
            p = c.post("/api/programs", json=body, headers=h)
            assert p.status_code == 201, p.text
            pid = p.json()["id"]
            assert c.get("/health").status_code == 200

            filler = _fill(disk)
            big = {"name": "Tent", "capacity": 5, "access_notes": "x" * 1900}
            answers = []
            for _ in range(20):  # a page or two may still fit
                answers.append(c.post(f"/api/programs/{pid}/spaces", json=big, headers=h))
                if answers[-1].status_code != 201:
                    break
            _assert_unavailable(answers[-1])
            assert c.get("/health").status_code == 503
            page = c.post(f"/api/programs/{pid}/spaces", json=big, headers={**h, "accept": "text/html"})
            assert page.status_code == 503
            filler.unlink()
            assert c.get("/health").status_code == 200
            spaces = c.get(f"/api/programs/{pid}/spaces", headers=h).json()
            assert len(spaces) == sum(a.status_code == 201 for a in answers)

            assert c.get("/health").status_code == 200
            assert c.post(f"/api/programs/{pid}/spaces", json={"name": "After", "capacity": 2}, headers=h).status_code == 201
