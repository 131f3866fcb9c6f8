"""The organizer's and the guest's main flows, through the pages in real Chromium."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.browser.conftest import ADMIN_EMAIL, login

pytestmark = pytest.mark.browser


async def _programme(server, capacity=30):
    tag = uuid.uuid4().hex[:6]
    start = date.today() + timedelta(days=10)
    async with server.api() as c:
        p = (await c.post("/api/programs", json={"name": f"Harbour Sessions {tag}", "timezone": "America/New_York",
                                                  "country": "US", "starts_on": start.isoformat(),
                                                  "ends_on": (start + timedelta(days=2)).isoformat()})).json()
        s = (await c.post(f"/api/programs/{p['id']}/spaces", json={"name": f"Quiet room {tag}", "capacity": capacity})).json()
    return p, s, start


async def test_organizer_creates_an_activity_and_sees_it_and_a_clash(live_server, browser):
    p, s, start = await _programme(live_server)
    day = (start + timedelta(days=1)).isoformat()
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    try:
        await login(page, live_server, ADMIN_EMAIL, next=f"/programs/{p['id']}/activities/new")
        await page.select_option("#kind", "activation")
        await page.fill("#title", "Sound bath for crew")
        await page.select_option("#space_id", str(s["id"]))
        await page.fill("#starts_at", f"{day}T14:00")
        await page.fill("#ends_at", f"{day}T15:00")
        await page.fill("#capacity", "12")
        await page.check("input[name=published]")
        async with page.expect_navigation():
            await page.click("main form button[type=submit]")
        assert f"/programs/{p['id']}/schedule" in page.url
        item = page.locator(".schedule .item", has_text="Sound bath for crew")
        await item.wait_for()
        assert "14:00–15:00" in await item.inner_text()

        # The same hour again in the same space: refused, naming the activity in the way.
        await page.goto(f"{live_server.base_url}/programs/{p['id']}/activities/new")
        await page.fill("#title", "Yoga nidra")
        await page.select_option("#space_id", str(s["id"]))
        await page.fill("#starts_at", f"{day}T14:30")
        await page.fill("#ends_at", f"{day}T15:30")
        await page.fill("#capacity", "8")
        async with page.expect_navigation():
            await page.click("main form button[type=submit]")
        alert = page.locator("[role=alert]")
        await alert.wait_for()
        text = await alert.inner_text()
        assert "Sound bath for crew" in text and "taken" in text
        async with live_server.api() as c:
            titles = [a["title"] for a in (await c.get(f"/api/programs/{p['id']}/activities")).json()]
        assert titles == ["Sound bath for crew"]
    finally:
        await ctx.close()


async def test_guest_rsvps_cancels_and_the_next_in_line_is_confirmed(live_server, browser):
    p, s, start = await _programme(live_server)
    day = (start + timedelta(days=1)).isoformat()
    async with live_server.api() as c:
        a = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "activation", "title": "Peer support circle", "space_id": s["id"], "capacity": 1,
            "starts_at": f"{day}T11:00", "ends_at": f"{day}T12:00", "rsvp_mode": "open"})).json()
    ctx = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await ctx.new_page()
    try:
        async def reserve(name, email):
            await page.goto(f"{live_server.base_url}/a/{a['id']}")
            await page.fill("#name", name)
            await page.fill("#email", email)
            async with page.expect_navigation():
                await page.click("main form button[type=submit]")
            return page.url

        first_url = await reserve("Rosa Díaz", f"rosa-{uuid.uuid4().hex[:6]}@example.org")
        await page.locator("#status", has_text="Confirmed").wait_for()
        assert await page.locator("img[alt='QR code of your ticket']").count() == 1

        second_url = await reserve("Sam Okoro", f"sam-{uuid.uuid4().hex[:6]}@example.org")
        await page.locator("#status", has_text="waitlist").wait_for()
        assert "number 1" in await page.locator("#status").inner_text()

        await page.goto(first_url)
        async with page.expect_navigation():
            await page.click("text=Cancel my place")
        # A confirmation first, saying what will happen.
        async with page.expect_navigation():
            await page.click("text=Yes, cancel my place")
        await page.locator("#status", has_text="You cancelled your place").wait_for()

        await page.goto(second_url)
        await page.locator("#status", has_text="Confirmed").wait_for()
        assert await page.locator("img[alt='QR code of your ticket']").count() == 1
    finally:
        await ctx.close()
