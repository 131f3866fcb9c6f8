"""A repeat RSVP by an address that already holds a place answers nothing about that place;
the guest's own link is e-mailed to the address again, at most once every few minutes."""
import asyncio
import re
from datetime import timedelta

from planner.clock import utcnow
from planner.mail.render import render
from planner.outbox.tables import OutboxMessage
from planner.rsvps.booking import RESEND_EVERY, create_rsvp
from planner.rsvps.tables import Rsvp

SECRET_BITS = ("manage_url", "invite_ics_url", "ticket", "token", "name", "answers", "id", "email")


async def _first(client, activity_id, **kw):
    body = {"name": "Nadia Quiet", "email": "nadia@example.org", **kw}
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_repeat_rsvp_answers_no_link_token_ticket_or_name(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=5)
    first = await _first(client, a["id"])
    token = first["manage_url"].split("token=")[1]
    r = await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Mallory", "email": "NADIA@example.org"})
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "check_email" and "e-mailed" in body["detail"]
    assert not set(body) & set(SECRET_BITS)
    for secret in (token, first["ticket"]["code"], "Nadia", str(first["id"])):
        assert secret not in r.text
    # Nothing changed: still one RSVP, under the first name.
    rows = await Rsvp.select(Rsvp.name).where(Rsvp.activity == a["id"])
    assert rows == [{"name": "Nadia Quiet"}]


async def test_repeat_rsvp_emails_the_guests_own_link_again(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=5, title="Sound bath")
    first = await _first(client, a["id"])
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Someone", "email": "nadia@example.org"})
    sent = await OutboxMessage.select().where(OutboxMessage.kind == "link_resent")
    assert len(sent) == 1 and sent[0]["to_addr"] == "nadia@example.org" and sent[0]["rsvp"] == first["id"]
    mail = await render(sent[0])
    assert first["manage_url"] in mail.text and "Sound bath" in mail.subject


async def test_repeat_rsvp_resends_at_most_once_every_few_minutes(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=5)
    await _first(client, a["id"])
    # Twenty repeats at the same moment send one message.
    calls = [client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "X", "email": "nadia@example.org"}) for _ in range(20)]
    results = await asyncio.gather(*calls)
    assert {r.status_code for r in results} == {202}
    assert await OutboxMessage.count().where(OutboxMessage.kind == "link_resent") == 1
    # Once the few minutes have passed, the next repeat sends again.
    later = utcnow() + RESEND_EVERY + timedelta(seconds=1)
    out, created = await create_rsvp(a["id"], {"name": "X", "email": "nadia@example.org"}, now=later)
    assert created is False and "manage_url" not in out
    assert await OutboxMessage.count().where(OutboxMessage.kind == "link_resent") == 2


async def test_repeat_rsvp_answer_is_the_same_for_waitlisted_and_applied_guests(api, setup, client):
    full = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1, title="Full one")
    await client.post(f"/api/activities/{full['id']}/rsvps", json={"name": "A", "email": "a@example.org"})
    waiting = await _first(client, full["id"])
    assert waiting["status"] == "waitlisted"
    r1 = await client.post(f"/api/activities/{full['id']}/rsvps", json={"name": "X", "email": "nadia@example.org"})
    confirmed_repeat = await client.post(f"/api/activities/{full['id']}/rsvps", json={"name": "X", "email": "a@example.org"})
    assert r1.status_code == confirmed_repeat.status_code == 202
    assert r1.json() == confirmed_repeat.json()


async def test_repeat_rsvp_through_the_form_shows_check_your_email(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=5)
    first = await _first(client, a["id"])
    token = first["manage_url"].split("token=")[1]
    page = await client.get(f"/a/{a['id']}", headers={"accept": "text/html"})
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post(f"/a/{a['id']}", data={"_csrf_token": csrf, "name": "Mallory", "email": "nadia@example.org"},
                          headers={"accept": "text/html"})
    assert r.status_code == 200 and "location" not in r.headers
    assert "Check your e-mail" in r.text
    assert token not in r.text and "Nadia" not in r.text and first["ticket"]["code"] not in r.text
    assert await OutboxMessage.count().where(OutboxMessage.kind == "link_resent") == 1
