"""Data rights that hold: erase leaves no row naming the guest, tokens stay out of logs, purge runs
from the command line with the clock moved, sensitive reads are audited, backups restore."""
from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import time
import uuid
from datetime import date

import asyncpg
import httpx
import pytest

from planner import db
from planner.audit.tables import AuditEvent
from planner.care.tables import CareMessage
from planner.fields import loads
from planner.mail.worker import run_once
from planner.outbox.tables import OutboxMessage
from planner.programs.tables import Program
from planner.rsvps.tables import Rsvp
from planner.settings import get_settings
from planner.tickets.tables import Checkin
from tests.conftest import ENGINE, PG_ADMIN
from tests.tickets.test_checkin_api import running_now
from tests.trust.helpers import guest, login_session
from tests.trust.server import env_for, run, server_log, serving

NAME, EMAIL = "Ivy Quietly", "ivy.quietly@example.org"


async def _tables() -> list[str]:
    if ENGINE == "postgres":
        rows = await db.raw("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
    else:
        rows = await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return sorted(r["name"] for r in rows)


async def _all_text_rows() -> str:
    """Every row of every table in the database (not a list of the ones we expect to matter), as one text to search."""
    tables = await _tables()
    assert {"rsvp", "invitation", "outbox_message", "checkin", "care_message", "audit_event"} <= set(tables), tables
    out = []
    for table in tables:
        out += [repr(r) for r in await db.raw(f'SELECT * FROM "{table}"')]
    return "\n".join(out)


async def test_erase_leaves_no_row_naming_the_guest_and_the_link_stops(api, client):
    s = await running_now(api, rsvp_mode="invite", kind="dinner", capacity=6, max_guests=1)
    a, pid = s["activity"], s["program"]["id"]
    q = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Dietary needs", "sensitive": True}, expect=201)).json()
    inv = (await api.post(f"/api/activities/{a['id']}/invitations", {"name": NAME, "email": EMAIL}, expect=201)).json()
    me = await guest(client, a["id"], name=NAME, email=EMAIL, invite_code=inv["invite_code"], answers={str(q["id"]): "no nuts"})
    yoga = (await running_now(api, program=s["program"], title="Yoga", space_name="Tent 2"))["activity"]
    other = await guest(client, yoga["id"], name=NAME, email=EMAIL)
    await run_once(get_settings())  # some mail sent (logged) ...
    await api.post(f"/api/activities/{a['id']}/cancel", {"reason": "storm"})  # ... and some waiting
    scan = await api.post("/api/checkins", {"code": other["ticket"]["code"]}, expect=200)
    assert scan.json()["result"] == "admitted"
    # Staff looked the guest up by name at the door, and the guest wrote to the care team.
    await api.get("/api/scanner/search", params={"activity_id": yoga["id"], "q": "Ivy"}, expect=200)
    r = await client.post(f"/api/rsvps/{me['id']}/care", params={"token": me["token"]}, json={"message": "Ivy here, no nuts please"})
    assert r.status_code == 202, r.text
    checkins, rsvps = await Checkin.count(), await Rsvp.count()
    assert EMAIL in await _all_text_rows()

    r = await client.post(f"/api/rsvps/{me['id']}/erase", params={"token": me["token"]})
    assert r.status_code == 200
    rows = await _all_text_rows()
    for trace in (EMAIL, "ivy.quietly", NAME, "no nuts", me["token"], me["ticket"]["code"] if me.get("ticket") else NAME):
        assert trace not in rows, trace
    # Counts kept for reports.
    assert await Checkin.count() == checkins and await Rsvp.count() == rsvps
    assert await OutboxMessage.count().where(OutboxMessage.sent_at.is_not_null()) > 0
    # Every old link of either RSVP stops working.
    for g in (me, other):
        for url in (f"/api/rsvps/{g['id']}", f"/r/{g['id']}", f"/r/{g['id']}/qr.png", f"/r/{g['id']}/invite.ics",
                    f"/api/rsvps/{g['id']}/data"):
            assert (await client.get(url, params={"token": g["token"]})).status_code == 404, url
    rescan = await api.post("/api/checkins", {"code": other["ticket"]["code"]}, expect=200)
    assert rescan.json()["result"] == "invalid"
    events = await AuditEvent.select().where((AuditEvent.action == "guest_erased") & (AuditEvent.program == pid))
    assert len(events) == 1 and NAME not in repr(events)


async def test_mail_logged_without_smtp_has_its_token_redacted(api, setup, client, caplog):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    me = await guest(client, a["id"], name=NAME, email=EMAIL)
    with caplog.at_level(logging.INFO, logger="planner.mail"):
        counts = await run_once(get_settings())
    assert counts["logged"] == 1
    assert "token=[redacted]" in caplog.text and me["token"] not in caplog.text


def test_access_log_never_holds_a_token(tmp_path):
    env = env_for(f"sqlite:///{tmp_path}/log.db", PLANNER_SECRET_KEY="log-test-secret-0123456789abc")
    secret = "S3cr3tT0kenValue_" + uuid.uuid4().hex
    with serving(env, tmp_path, "--access-log") as base:
        for path in (f"/r/1?token={secret}", f"/r/1/qr.png?token={secret}", f"/a/1?invite={secret}",
                     f"/feeds/user/1.ics?token={secret}&x=1"):
            assert httpx.get(base + path, timeout=10).status_code == 404
    log = server_log(tmp_path)
    assert "GET /r/1?token=[redacted]" in log, log[-2000:]
    assert secret not in log


async def test_purge_command_drops_sensitive_answers_past_retention(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    q1 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Access needs", "sensitive": True}, expect=201)).json()
    q2 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Favourite song"}, expect=201)).json()
    g = await guest(client, a["id"], answers={str(q1["id"]): "step-free", str(q2["id"]): "Dreams"})
    r = await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]}, json={"message": "A quiet word, please."})
    assert r.status_code == 202, r.text
    env = env_for(os.environ["PLANNER_DATABASE_URL"], PLANNER_SENSITIVE_RETENTION_DAYS="30")
    # The programme ends 2027-07-07: on 2027-07-20 the answers stay, on 2027-08-10 they go.
    early = await asyncio.to_thread(run, ["purge", "--today", "2027-07-20"], env)
    assert early.returncode == 0, early.stderr
    assert "from 0 RSVP(s), and 0 care message(s)" in early.stdout
    assert str(q1["id"]) in loads((await Rsvp.select(Rsvp.answers).first())["answers"])
    assert await CareMessage.count() == 1
    late = await asyncio.to_thread(run, ["purge", "--today", "2027-08-10"], env)
    # What it says is what it did: one RSVP's answers and one care message.
    assert late.returncode == 0 and "from 1 RSVP(s), and 1 care message(s)" in late.stdout, late.stdout + late.stderr
    assert loads((await Rsvp.select(Rsvp.answers).first())["answers"]) == {str(q2["id"]): "Dreams"}
    assert await CareMessage.count() == 0


async def test_serve_purges_by_itself(api, setup, client, tmp_path):
    """Nobody runs `planner purge`: a running `planner serve` drops sensitive answers past retention on its own."""
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    q1 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Access needs", "sensitive": True}, expect=201)).json()
    q2 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Favourite song"}, expect=201)).json()
    await guest(client, a["id"], answers={str(q1["id"]): "step-free", str(q2["id"]): "Dreams"})
    # The programme ended long ago (the API refuses to make one in the past; the clock of a real server cannot be moved).
    await Program.update({Program.starts_on: date(2020, 7, 1), Program.ends_on: date(2020, 7, 7)}).where(
        Program.id == setup["program"]["id"])
    env = env_for(os.environ["PLANNER_DATABASE_URL"], PLANNER_SENSITIVE_RETENTION_DAYS="30")

    def serve_until_purged() -> dict:
        with serving(env, tmp_path):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                answers = asyncio.run(_answers_of_first_rsvp())
                if str(q1["id"]) not in answers:
                    return answers
                time.sleep(0.5)
            return answers

    answers = await asyncio.to_thread(serve_until_purged)
    assert answers == {str(q2["id"]): "Dreams"}


async def _answers_of_first_rsvp() -> dict:
    """Read in a connection of its own (this runs in another thread, outside the test's event loop)."""
    url = os.environ["PLANNER_DATABASE_URL"]
    if ENGINE == "postgres":
        conn = await asyncpg.connect(url)
        try:
            return loads(await conn.fetchval("SELECT answers FROM rsvp ORDER BY id LIMIT 1")) or {}
        finally:
            await conn.close()
    with sqlite3.connect(url.split("sqlite:///", 1)[1]) as c:
        return loads(c.execute("SELECT answers FROM rsvp ORDER BY id LIMIT 1").fetchone()[0]) or {}


async def test_sensitive_views_and_exports_are_audited(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    await api.post(f"/api/activities/{a['id']}/questions", {"label": "Access needs", "sensitive": True}, expect=201)
    await api.get(f"/api/activities/{a['id']}/rsvps", expect=200)
    await api.get(f"/api/activities/{a['id']}/rsvps.csv", expect=200)
    assert await AuditEvent.count() == 0
    await api.get(f"/api/activities/{a['id']}/rsvps", params={"sensitive": "true"}, expect=200)
    await api.get(f"/api/activities/{a['id']}/rsvps.csv", params={"sensitive": "true"}, expect=200)
    await login_session(client)
    assert (await client.get(f"/activities/{a['id']}/manage", params={"sensitive": "true"})).status_code == 200
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.program).order_by(AuditEvent.id)
    assert [e["action"] for e in events] == ["sensitive_viewed", "sensitive_exported", "sensitive_viewed"]
    assert {e["actor_label"] for e in events} == {"organizer@example.org"}
    assert {e["program"] for e in events} == {setup["program"]["id"]}


async def _read_back(env: dict, workdir, token: str, program_id: int) -> dict:
    def go() -> dict:
        with serving(env, workdir) as base:
            r = httpx.get(f"{base}/api/programs/{program_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert r.status_code == 200, r.text
            return r.json()
    return await asyncio.to_thread(go)


@pytest.mark.skipif(ENGINE != "sqlite", reason="planner backup copies SQLite databases")
async def test_sqlite_backup_restores_and_serves(api, setup, client, tmp_path):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Restored breathwork")
    await guest(client, a["id"])
    copy = tmp_path / "copy.db"
    env = env_for(os.environ["PLANNER_DATABASE_URL"])
    done = await asyncio.to_thread(run, ["backup", str(copy)], env)
    assert done.returncode == 0, done.stderr
    again = await asyncio.to_thread(run, ["backup", str(copy)], env)
    assert again.returncode == 1 and "exists" in again.stderr
    # The live database moves on; the copy keeps the moment of the backup.
    await api.space(setup["program"]["id"], name="After the backup")
    served = await _read_back(env_for(f"sqlite:///{copy}"), tmp_path, api.token, setup["program"]["id"])
    assert served["name"] == setup["program"]["name"]
    with sqlite3.connect(copy) as c:
        assert c.execute("SELECT title FROM activity").fetchall() == [("Restored breathwork",)]
        assert c.execute("SELECT count(*) FROM rsvp").fetchone() == (1,)
        assert c.execute("SELECT count(*) FROM space").fetchone() == (1,)


@pytest.mark.skipif(ENGINE != "postgres", reason="the README's pg_dump line, restored")
async def test_postgres_dump_from_the_readme_restores_and_serves(api, setup, client, tmp_path):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Restored breathwork")
    await guest(client, a["id"])
    url = os.environ["PLANNER_DATABASE_URL"]
    dump = tmp_path / "planner.dump"
    done = await asyncio.to_thread(subprocess.run, ["pg_dump", "--format=custom", "--file", str(dump), url],
                                   capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    refused = await asyncio.to_thread(run, ["backup", str(tmp_path / "x.db")], env_for(url))
    assert refused.returncode == 2 and "pg_dump" in refused.stderr
    name = f"planner_restore_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        restored_url = url.rsplit("/", 1)[0] + "/" + name
        done = await asyncio.to_thread(subprocess.run, ["pg_restore", "--no-owner", "--dbname", restored_url, str(dump)],
                                       capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        served = await _read_back(env_for(restored_url), tmp_path, api.token, setup["program"]["id"])
        assert served["name"] == setup["program"]["name"]
        conn = await asyncpg.connect(restored_url)
        try:
            assert await conn.fetchval("SELECT title FROM activity") == "Restored breathwork"
            assert await conn.fetchval("SELECT count(*) FROM rsvp") == 1
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
