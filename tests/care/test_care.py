"""Talk to the care team: a guest's message reaches the care address once, through the outbox; the care
inbox opens for organizers and the care role (audited), never for staff or other programmes; purged after
retention; rate-limited with Retry-After, also under concurrent sends."""
from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime

import pytest

from planner.audit.tables import AuditEvent
from planner.care import rules as care
from planner.care.tables import CareMessage
from planner.mail.worker import run_once
from planner.outbox.tables import OutboxMessage
from planner.privacy import purge_sensitive_answers
from planner.settings import get_settings
from tests.conftest import Api, make_user
from tests.mail.smtp import start

PASSWORD = "correct horse battery"


@pytest.fixture
def smtp():
    ctl, inbox = start()
    yield ctl, inbox
    ctl.stop()


async def drain(port: int) -> None:
    s = dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
    while any((await run_once(s)).values()):
        pass


async def as_user(client, email: str, *, admin: bool = False) -> Api:
    await make_user(email, PASSWORD, admin=admin)
    r = await client.post("/api/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return Api(client, r.json()["token"])


async def guest(api, client, setup, email="ana@example.org") -> dict:
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Sound bath")
    r = await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana Lima", "email": email})
    assert r.status_code == 201, r.text
    body = r.json()
    return {"id": body["id"], "token": body["manage_url"].split("token=")[1], "activity": a}


def text_of(msg) -> str:
    return next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()


async def test_care_message_reaches_the_care_address_once(api, setup, client, smtp):
    ctl, inbox = smtp
    pid = setup["program"]["id"]
    await api.client.put(f"/api/programs/{pid}/care", json={"address": "Care@Example.org"}, headers=api.h)
    g = await guest(api, client, setup)
    r = await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]},
                          json={"message": "I'm having a hard time after the set.\nCould someone check in?"})
    assert r.status_code == 202, r.text
    await drain(ctl.port)
    await drain(ctl.port)  # a second round sends nothing more
    got = inbox.to("care@example.org")
    assert len(got) == 1
    # Nobody else: not the organizer (the guest only had their confirmation).
    assert [m["To"] for m in inbox.messages if m["To"] != "ana@example.org"] == ["care@example.org"]
    assert "hard time" not in got[0]["Subject"]  # subjects are seen at a glance
    body = text_of(got[0])
    assert "I'm having a hard time after the set.\nCould someone check in?" in body.replace("\r\n", "\n")
    assert "ana@example.org" in body and "Sound bath" in body and f"/programs/{pid}/care" in body


async def test_care_message_goes_to_the_organizers_when_no_care_address_is_set(api, setup, client, smtp):
    ctl, inbox = smtp
    pid = setup["program"]["id"]
    second = await as_user(client, "second@example.org")
    await api.post(f"/api/programs/{pid}/members", {"email": "second@example.org", "role": "organizer"}, expect=201)
    g = await guest(api, client, setup)
    assert (await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]}, json={"message": "Hello"})).status_code == 202
    await drain(ctl.port)
    assert sorted(m["To"] for m in inbox.messages if m["To"] != "ana@example.org") == ["organizer@example.org", "second@example.org"]
    assert second.token


async def test_care_inbox_opens_for_organizers_and_the_care_role_only(api, setup, client):
    pid = setup["program"]["id"]
    staff = await as_user(client, "crew@example.org")
    carer = await as_user(client, "counsellor@example.org")
    await api.post(f"/api/programs/{pid}/members", {"email": "crew@example.org", "role": "staff"}, expect=201)
    await api.post(f"/api/programs/{pid}/members", {"email": "counsellor@example.org", "role": "care"}, expect=201)
    # Another programme's organizer.
    other = await as_user(client, "other@example.org", admin=True)
    op = await other.program(name="Other festival")
    g = await guest(api, client, setup)
    assert (await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]}, json={"message": "Private words"})).status_code == 202

    url = f"/api/programs/{pid}/care/messages"
    for reader in (api, carer):
        r = await reader.get(url, expect=200)
        assert [m["message"] for m in r.json()] == ["Private words"]
        assert r.json()[0]["email"] == "ana@example.org" and r.headers["cache-control"] == "no-store"
    assert (await staff.get(url)).status_code == 403
    assert (await other.get(url)).status_code == 404
    assert (await client.get(url)).status_code == 401
    # Their own inbox holds nothing of it.
    assert (await other.get(f"/api/programs/{op['id']}/care/messages", expect=200)).json() == []
    # Each opening was audited, refusals were not openings.
    opened = await AuditEvent.select().where((AuditEvent.action == "care_opened") & (AuditEvent.program == pid))
    assert sorted(e["actor_label"] for e in opened) == ["counsellor@example.org", "organizer@example.org"]
    # Staff see neither the inbox page nor its link; the care role sees the page.
    for _who, email, status in ((staff, "crew@example.org", 403), (carer, "counsellor@example.org", 200)):
        await client.get("/login")
        await client.post("/login", data={"email": email, "password": PASSWORD, "next": "/", "_csrf_token": client.cookies.get("csrftoken")})
        page = await client.get(f"/programs/{pid}/care", headers={"Accept": "text/html"})
        assert page.status_code == status
        assert ("Private words" in page.text) is (status == 200)
        programme = await client.get(f"/programs/{pid}")
        assert (f'href="/programs/{pid}/care"' in programme.text) is (status == 200)
        await client.post("/logout", data={"_csrf_token": client.cookies.get("csrftoken")})
    # Opening the page is an opening too (the care role's), and staff's refused visit is not.
    opened = await AuditEvent.select().where((AuditEvent.action == "care_opened") & (AuditEvent.program == pid))
    assert sorted(e["actor_label"] for e in opened) == ["counsellor@example.org", "counsellor@example.org", "organizer@example.org"]


async def test_care_messages_are_purged_after_retention(api, setup, client):
    pid = setup["program"]["id"]  # ends 2027-07-07
    g = await guest(api, client, setup)
    for text in ("one", "two"):
        assert (await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]}, json={"message": text})).status_code == 202
    other = await api.program(name="Later festival", starts_on="2027-09-01", ends_on="2027-09-05")
    await client.post(f"/api/programs/{other['id']}/care", json={"message": "later"})
    assert await CareMessage.count() == 3 and await OutboxMessage.count().where(OutboxMessage.kind == "care") == 3
    # Not yet: 30 days after the end is the cutoff.
    assert await care.purge(now=datetime(2027, 8, 6, tzinfo=UTC), retention_days=30) == 0
    assert await CareMessage.count() == 3
    # The clock moves past retention: the programme's messages and the mail that carried them go.
    assert await care.purge(now=datetime(2027, 8, 8, 1, tzinfo=UTC), retention_days=30) == 2
    left = await CareMessage.select(CareMessage.program, CareMessage.message)
    assert left == [{"program": other["id"], "message": "later"}]
    assert await OutboxMessage.count().where(OutboxMessage.kind == "care") == 1
    assert (await api.get(f"/api/programs/{pid}/care/messages", expect=200)).json() == []


async def test_care_messages_go_when_the_guest_erases_their_data(api, setup, client):
    g = await guest(api, client, setup)
    await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]}, json={"message": "please forget me"})
    assert (await client.post(f"/api/rsvps/{g['id']}/erase", params={"token": g["token"]})).status_code == 200
    assert await CareMessage.count() == 0 and await OutboxMessage.count().where(OutboxMessage.kind == "care") == 0


async def test_care_refuses_bad_tokens_and_bad_messages(api, setup, client):
    g = await guest(api, client, setup)
    url = f"/api/rsvps/{g['id']}/care"
    assert (await client.post(url, params={"token": "not-the-token"}, json={"message": "hi"})).status_code == 404
    assert (await client.post(f"/api/rsvps/{2**40}/care", params={"token": g["token"]}, json={"message": "hi"})).status_code == 404
    for bad in ("", "   ", "a\x00b", "x" * 4001):
        r = await client.post(url, params={"token": g["token"]}, json={"message": bad})
        assert r.status_code == 400, (bad[:5], r.text)
        assert r.json()["detail"]
    assert (await client.post(url, params={"token": g["token"]}, json={})).status_code == 400
    assert await CareMessage.count() == 0 and await OutboxMessage.count().where(OutboxMessage.kind == "care") == 0


async def test_care_rate_limit_answers_429_with_retry_after_even_under_concurrent_sends(api, setup, client):
    g = await guest(api, client, setup)
    url = f"/api/rsvps/{g['id']}/care"
    results = await asyncio.gather(*[
        client.post(url, params={"token": g["token"]}, json={"message": f"message {i}"}) for i in range(8)])
    codes = sorted(r.status_code for r in results)
    assert codes == [202] * 3 + [429] * 5
    refused = next(r for r in results if r.status_code == 429)
    assert 0 < int(refused.headers["retry-after"]) <= 601
    assert refused.json()["extra"]["retry_after"] == int(refused.headers["retry-after"])
    assert await CareMessage.count() == 3


async def test_care_forms_on_the_guest_page_and_the_public_page(api, setup, client):
    pid = setup["program"]["id"]
    g = await guest(api, client, setup)
    page = await client.get(f"/r/{g['id']}", params={"token": g["token"]})
    assert page.status_code == 200
    form = page.text[page.text.index('id="care-heading"'):]
    # Before writing, the guest learns it is not an emergency service and sees the emergency number.
    assert form.index("not an emergency service") < form.index("<textarea") and form.index('href="tel:911"') < form.index("<textarea")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post(f"/r/{g['id']}/care", params={"token": g["token"]}, data={"_csrf_token": token, "message": "From my page"})
    assert r.status_code == 200 and "on its way" in r.text
    public = await client.get(f"/p/{pid}")
    assert f'action="/p/{pid}/care"' in public.text and 'href="tel:911"' in public.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', public.text).group(1)
    r = await client.post(f"/p/{pid}/care", data={"_csrf_token": token, "message": "From the public page", "contact": "+1 555 0100"})
    assert r.status_code == 200 and "on its way" in r.text
    rows = (await api.get(f"/api/programs/{pid}/care/messages", expect=200)).json()
    assert [(m["message"], m["from_guest_page"], m["contact"]) for m in rows] == [
        ("From the public page", False, "+1 555 0100"), ("From my page", True, "")]
    assert (await client.post(f"/r/{g['id']}/care", params={"token": "wrong"}, data={"_csrf_token": token, "message": "x"})).status_code == 404


async def test_care_public_page_is_rate_limited_per_client(api, setup, client):
    pid = setup["program"]["id"]
    assert (await client.post(f"/api/programs/{pid}/care", json={"message": "x", "contact": "a\nb"})).status_code == 400
    codes = [(await client.post(f"/api/programs/{pid}/care", json={"message": f"note {i}"})).status_code for i in range(11)]
    assert codes == [202] * 10 + [429]
    assert (await client.post(f"/api/programs/{2**31 - 1}/care", json={"message": "x"})).status_code == 404
    assert await CareMessage.count() == 10


async def test_care_messages_go_with_the_sensitive_answers_purge(api, setup, client):
    g = await guest(api, client, setup)
    await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]}, json={"message": "keep until retention"})
    await purge_sensitive_answers(now=datetime(2027, 8, 1, tzinfo=UTC), retention_days=30)
    assert await CareMessage.count() == 1
    await purge_sensitive_answers(now=datetime(2027, 8, 8, 1, tzinfo=UTC), retention_days=30)
    assert await CareMessage.count() == 0


async def test_care_message_text_stays_out_of_the_log_without_smtp(api, setup, client, caplog):
    g = await guest(api, client, setup)
    secret = "I have been struggling since the tour started"
    r = await client.post(f"/api/rsvps/{g['id']}/care", params={"token": g["token"]}, json={"message": secret})
    assert r.status_code == 202, r.text
    no_smtp = dataclasses.replace(get_settings(), smtp_host="")
    with caplog.at_level("INFO", logger="planner.mail"):
        while any((await run_once(no_smtp)).values()):
            pass
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "no SMTP host set" in logged  # the mail was handled and logged...
    assert secret not in logged  # ...but not what the guest wrote
    assert await OutboxMessage.count().where((OutboxMessage.kind == "care") & OutboxMessage.sent_at.is_not_null()) == 1
