"""Messages to guests, in real Chromium against a server that sends through a real SMTP server: an organizer's
e-mail reaches exactly the chosen guests, and a reminder leaves at its offset before the activity, to confirmed
guests only."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.conftest import ADMIN_EMAIL, login, serving
from tests.browser.test_accessibility import shot
from tests.mail.smtp import start

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def mail_server():
    ctl, inbox = start()
    try:
        async with serving(PLANNER_SMTP_HOST="127.0.0.1", PLANNER_SMTP_PORT=str(ctl.port), PLANNER_SMTP_TLS="none",
                           PLANNER_OUTBOX_POLL="0.5") as server:
            yield server, inbox
    finally:
        ctl.stop()


async def _wait_for(inbox, subject: str, n: int, seconds: float = 90) -> list:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        got = [m for m in inbox.messages if subject in str(m["Subject"])]
        if len(got) >= n or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(0.3)


async def _rsvp(c, activity_id: int, name: str) -> dict:
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:5]}@example.org"
    r = await c.post(f"/api/activities/{activity_id}/rsvps", json={"name": name, "email": email})
    assert r.status_code == 201, r.text
    return r.json()


async def test_organizer_emails_exactly_the_waitlist_from_the_browser(mail_server, browser):
    server, inbox = mail_server
    today = datetime.now(timezone.utc).date()
    async with server.api() as c:
        p = (await c.post("/api/programs", json={"name": f"Dockside {uuid.uuid4().hex[:5]}", "timezone": "UTC", "country": "GB",
                                                  "starts_on": (today + timedelta(days=5)).isoformat(),
                                                  "ends_on": (today + timedelta(days=6)).isoformat()})).json()
        s = (await c.post(f"/api/programs/{p['id']}/spaces", json={"name": "Tent", "capacity": 10})).json()
        a = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "activation", "title": "Sound bath", "space_id": s["id"], "capacity": 2, "published": True,
            "starts_at": f"{today + timedelta(days=5)}T10:00", "ends_at": f"{today + timedelta(days=5)}T11:00"})).json()
        guests = [await _rsvp(c, a["id"], n) for n in ("Ana Lima", "Ben Ode", "Cleo Park", "Dee Roy", "Eve Diaz")]
    assert [g["status"] for g in guests] == ["confirmed", "confirmed", "waitlisted", "waitlisted", "waitlisted"]
    async with server.api() as c:  # Dee leaves the line: she must not be written to
        r = await c.post(f"/api/rsvps/{guests[3]['id']}/cancel", params={"token": guests[3]["manage_url"].split("token=")[1]})
        assert r.json()["status"] == "cancelled"

    subject = f"Doors open early {uuid.uuid4().hex[:4]}"
    ctx = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await ctx.new_page()
    try:
        await login(page, server, ADMIN_EMAIL, next=f"/activities/{a['id']}/message")
        await page.uncheck("input[name=audience][value=confirmed]")
        await page.check("input[name=audience][value=waitlisted]")
        await page.fill("#subject", subject)
        await page.fill("#message", "If a seat frees up we will tell you at once.")
        async with page.expect_navigation():
            await page.click("text=Check who gets it")
        # The preview says how many, and who, before anything is sent.
        await page.locator("[role=status]", has_text="2 guests will be e-mailed").wait_for()
        await shot(page, "messages-preview-360")
        assert not [m for m in inbox.messages if subject in str(m["Subject"])]
        async with page.expect_navigation():
            await page.click("text=Send to 2 guests")
    finally:
        await ctx.close()
    got = await _wait_for(inbox, subject, 2)
    assert sorted(m["To"] for m in got) == sorted([guests[2]["email"], guests[4]["email"]])
    await asyncio.sleep(2)  # nothing else follows: one message each, to no one else
    assert len([m for m in inbox.messages if subject in str(m["Subject"])]) == 2


async def test_organizer_sets_reminder_offsets_in_the_settings_page(mail_server, browser):
    """The offsets come from the programme's settings page; when each is sent (and to whom) is tested with the
    clock moved in tests/mail/test_reminders_and_messages.py, against the same SMTP server kind."""
    server, _inbox = mail_server
    today = datetime.now(timezone.utc).date()
    async with server.api() as c:
        p = (await c.post("/api/programs", json={"name": f"Night shift {uuid.uuid4().hex[:5]}", "timezone": "UTC", "country": "GB",
                                                  "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=2)).isoformat()})).json()
    ctx = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await ctx.new_page()
    try:
        await login(page, server, ADMIN_EMAIL, next=f"/programs/{p['id']}/edit")
        await page.fill("#reminder_hours", "every day")
        async with page.expect_navigation():
            await page.click("main form[action$='/edit'] button[type=submit]")
        assert "whole hours" in await page.locator("[role=alert]").inner_text()
        await page.fill("#reminder_hours", "3, 1")
        async with page.expect_navigation():
            await page.click("main form[action$='/edit'] button[type=submit]")
    finally:
        await ctx.close()
    async with server.api() as c:
        assert (await c.get(f"/api/programs/{p['id']}")).json()["reminder_hours"] == "3,1"
