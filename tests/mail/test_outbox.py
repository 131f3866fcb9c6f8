import dataclasses
from datetime import timedelta

import pytest

from planner.clock import utcnow
from planner.mail.worker import run_once
from planner.outbox.tables import OutboxMessage
from planner.settings import get_settings
from tests.mail.smtp import free_port, start


@pytest.fixture
def smtp():
    ctl, inbox = start()
    yield ctl, inbox
    ctl.stop()


def settings_for(port):
    return dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")


def token(body):
    return body["manage_url"].split("token=")[1]


async def drain(settings, now=None):
    total = {"sent": 0, "failed": 0, "logged": 0, "superseded": 0}
    while True:
        c = await run_once(settings, now=now)
        for k in total:
            total[k] += c[k]
        if not any(c.values()):
            return total


async def test_every_state_change_sends_a_message(api, setup, client, smtp):
    ctl, inbox = smtp
    s = settings_for(ctl.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1)
    first = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana Lima", "email": "ana@example.org"})).json()
    (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben Ode", "email": "ben@example.org"})).json()
    await drain(s)  # Ana's confirmation leaves before she cancels
    await client.post(f"/api/rsvps/{first['id']}/cancel", params={"token": token(first)})
    d = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="dinner", rsvp_mode="invite", capacity=8,
                           title="Supper, songs & stories", starts_at="2027-07-03T19:00", ends_at="2027-07-03T21:00")
    await api.post(f"/api/activities/{d['id']}/invitations", {"name": "Cleo", "email": "cleo@example.org"}, expect=201)
    counts = await drain(s)
    assert counts["failed"] == 0
    subjects = {(m["To"], m["Subject"].split(":")[0].split(" ")[0]) for m in inbox.messages}
    assert ("ana@example.org", "You're") in subjects  # confirmed
    assert any(m["Subject"].startswith("Cancelled") for m in inbox.to("ana@example.org"))
    ben = [m["Subject"] for m in inbox.to("ben@example.org")]
    assert any("waitlist" in x for x in ben) and any("opened up" in x for x in ben)
    assert any("invited" in m["Subject"] for m in inbox.to("cleo@example.org"))
    # Plain text and HTML in every message; the guest's link in it.
    for m in inbox.messages:
        kinds = {p.get_content_type() for p in m.walk()}
        assert {"text/plain", "text/html"} <= kinds
    body = next(p for p in inbox.to("ben@example.org")[0].walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "token=" in body
    assert await OutboxMessage.count().where(OutboxMessage.sent_at.is_null()) == 0


async def test_messages_survive_a_failing_smtp_server(api, setup, client):
    port = free_port()
    s = settings_for(port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3)
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Dee", "email": "dee@example.org"})
    # Nothing listens on the port: the send fails and is kept for later.
    counts = await run_once(s)
    assert counts == {"sent": 0, "failed": 1, "logged": 0, "superseded": 0}
    row = await OutboxMessage.select().first()
    assert row["sent_at"] is None and row["attempts"] == 1 and row["last_error"]
    # Not retried before its backoff...
    assert (await run_once(s))["failed"] == 0
    # ...then the server is back and the message goes out exactly once.
    ctl, inbox = start(port)
    try:
        counts = await drain(s, now=utcnow() + timedelta(minutes=10))
        assert counts["sent"] == 1
        assert len(inbox.to("dee@example.org")) == 1
        assert (await drain(s, now=utcnow() + timedelta(hours=2)))["sent"] == 0
    finally:
        ctl.stop()


async def test_server_temporary_refusal_is_retried(api, setup, client, smtp):
    ctl, inbox = smtp
    s = settings_for(ctl.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3)
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Eve", "email": "eve@example.org"})
    inbox.fail = True
    assert (await run_once(s))["failed"] == 1
    inbox.fail = False
    assert (await drain(s, now=utcnow() + timedelta(minutes=5)))["sent"] == 1
    assert len(inbox.to("eve@example.org")) == 1


async def test_without_smtp_host_mail_is_logged_and_kept(api, setup, client):
    s = dataclasses.replace(get_settings(), smtp_host=None)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3)
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Fay", "email": "fay@example.org"})
    assert (await run_once(s))["logged"] == 1
    row = await OutboxMessage.select().first()
    assert row["to_addr"] == "fay@example.org" and row["sent_at"] is not None and "no SMTP host" in row["last_error"]
