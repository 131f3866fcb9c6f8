"""An organizer's day and a guest's replies, in real Chromium: an activity with a kit and a description, a guest
reserving the first free slot, an invitee declining, a cancellation confirmed and undone."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.browser.conftest import ADMIN_EMAIL, login

pytestmark = pytest.mark.browser


async def _programme(server):
    tag = uuid.uuid4().hex[:6]
    start = date.today() + timedelta(days=10)
    async with server.api() as c:
        p = (await c.post("/api/programs", json={"name": f"Harbour Days {tag}", "timezone": "America/New_York", "country": "US",
                                                  "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=2)).isoformat(),
                                                  "languages": ["en", "es"]})).json()
        s = (await c.post(f"/api/programs/{p['id']}/spaces", json={"name": f"Wellness tent {tag}", "capacity": 30})).json()
        ear = (await c.post(f"/api/programs/{p['id']}/items", json={"name": "Earplugs"})).json()
        kit = (await c.post(f"/api/programs/{p['id']}/kits", json={"name": f"Rest kit {tag}", "items": [{"item_id": ear["id"], "quantity": 1}]})).json()
    return p, s, kit, start


async def test_organizer_creates_activity_with_kit_and_description_then_guest_reserves_first_free_slot(live_server, browser):
    p, s, kit, start = await _programme(live_server)
    day = (start + timedelta(days=1)).isoformat()
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    try:
        await login(page, live_server, ADMIN_EMAIL, next=f"/programs/{p['id']}/activities/new")
        await page.select_option("#kind", "activation")
        await page.fill("#title", "Chair massage")
        await page.select_option("#space_id", str(s["id"]))
        await page.fill("#starts_at", f"{day}T11:00")
        await page.fill("#ends_at", f"{day}T12:00")
        await page.fill("#slot_minutes", "20")
        await page.fill("#capacity", "1")
        await page.fill("#description", "A clothed 20-minute chair massage with a licensed therapist.")
        await page.select_option("#kit_id", str(kit["id"]))
        await page.check("input[name=published]")
        async with page.expect_navigation():
            await page.click("main form button[type=submit]")
        notice = page.locator("[role=status]", has_text="Created")
        await notice.wait_for()
        assert "Chair massage" in await notice.inner_text()
        async with live_server.api() as c:
            acts = (await c.get(f"/api/programs/{p['id']}/activities")).json()
            a = next(x for x in acts if x["title"] == "Chair massage")
            assert a["kit_id"] == kit["id"] and a["description"].startswith("A clothed")
            assert len(a["slots"]) == 3
            # Someone takes the 11:00 slot first.
            r = await c.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben Ode", "email": "ben@example.org", "slot_id": a["slots"][0]["id"]})
            assert r.json()["status"] == "confirmed"
    finally:
        await ctx.close()

    guest = await browser.new_context(viewport={"width": 360, "height": 800})
    gpage = await guest.new_page()
    try:
        await gpage.goto(f"{live_server.base_url}/p/{p['id']}")
        await gpage.click("text=Chair massage")
        await gpage.locator("#seats-left", has_text="2 seats left").wait_for()
        assert "licensed therapist" in await gpage.locator("article").inner_text()
        assert await gpage.locator("#slot_id").input_value() == str(a["slots"][1]["id"])
        assert "full, waitlist" in await gpage.locator(f"#slot_id option[value='{a['slots'][0]['id']}']").inner_text()
        await gpage.fill("#name", "Ana Lima")
        await gpage.fill("#email", "ana@example.org")
        async with gpage.expect_navigation():
            await gpage.click("main form button[type=submit]")
        await gpage.locator("#status", has_text="Confirmed").wait_for()
        assert "11:20" in await gpage.locator("dl.facts").inner_text()
        # The crisis line and the emergency number are one tap away at the top of the page on a phone.
        for link in (".crisis-bar a[href^='tel:']:not(.emergency)", ".crisis-bar a.emergency[href^='tel:']"):
            box = await gpage.locator(link).bounding_box()
            assert box is not None and box["y"] < 260, (link, box)
    finally:
        await guest.close()


async def test_invitee_declines_in_the_browser(live_server, browser):
    p, s, _, start = await _programme(live_server)
    day = (start + timedelta(days=1)).isoformat()
    async with live_server.api() as c:
        d = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "dinner", "rsvp_mode": "invite", "title": "Songwriter dinner", "space_id": s["id"], "capacity": 10,
            "max_guests": 1, "starts_at": f"{day}T19:00", "ends_at": f"{day}T21:00"})).json()
        inv = (await c.post(f"/api/activities/{d['id']}/invitations", json={"name": "Cleo Park", "email": "cleo@example.org"})).json()
    ctx = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await ctx.new_page()
    try:
        await page.goto(inv["url"])
        async with page.expect_navigation():
            await page.click("text=No, I can't come")
        await page.locator("#status", has_text="You said you can't come").wait_for()
        # Reopening the invitation shows that answer, with a way to change it.
        await page.goto(inv["url"])
        await page.locator("#status", has_text="You said you can't come").wait_for()
        assert await page.locator("text=Changed your mind? Reply yes").count() == 1
        async with live_server.api() as c:
            rows = (await c.get(f"/api/activities/{d['id']}/rsvps")).json()
        assert [(r["name"], r["status"]) for r in rows] == [("Cleo Park", "declined")]
    finally:
        await ctx.close()
    org = await browser.new_context(viewport={"width": 360, "height": 800})
    opage = await org.new_page()
    try:
        await login(opage, live_server, ADMIN_EMAIL, next=f"/activities/{d['id']}/manage")
        assert "declined" in await opage.locator("#h-inv").locator("xpath=..").inner_text()
    finally:
        await org.close()


async def test_cancel_activity_confirmed_and_undone_in_the_browser(live_server, browser):
    p, s, _, start = await _programme(live_server)
    day = (start + timedelta(days=1)).isoformat()
    async with live_server.api() as c:
        a = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "activation", "title": "Sound bath", "space_id": s["id"], "capacity": 10,
            "starts_at": f"{day}T14:00", "ends_at": f"{day}T15:00"})).json()
        for n in range(2):
            await c.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"Guest {n}", "email": f"guest{n}@example.org"})
    ctx = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await ctx.new_page()
    try:
        await login(page, live_server, ADMIN_EMAIL, next=f"/activities/{a['id']}/manage")
        async with page.expect_navigation():
            await page.click("text=Cancel activity…")
        assert "2 guests will be e-mailed" in await page.locator("main").inner_text()
        await page.fill("#cancel-reason", "Storm warning")
        async with page.expect_navigation():
            await page.click("text=Yes, cancel the activity")
        undo = page.locator("button", has_text="Undo the cancellation")
        await undo.wait_for()
        async with page.expect_navigation():
            await undo.click()
        await page.locator("[role=status]", has_text="on again").wait_for()
        async with live_server.api() as c:
            acts = (await c.get(f"/api/programs/{p['id']}/activities")).json()
        assert next(x for x in acts if x["id"] == a["id"])["cancelled"] is False
    finally:
        await ctx.close()
