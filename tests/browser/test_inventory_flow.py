"""Issue 7's page flow in real Chromium: receive stock, see it, and see the forecast's shortfall."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest

from tests.browser.conftest import ADMIN_EMAIL, login

pytestmark = pytest.mark.browser


async def test_organizer_receives_kits_and_the_forecast_shows_a_shortfall(live_server, browser):
    tag = uuid.uuid4().hex[:6]
    start = date.today() + timedelta(days=3)
    async with live_server.api() as c:
        p = (await c.post("/api/programs", json={"name": f"Kit fest {tag}", "timezone": "Europe/London", "country": "GB",
                                                  "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=1)).isoformat()})).json()
        s = (await c.post(f"/api/programs/{p['id']}/spaces", json={"name": f"Wellness tent {tag}", "capacity": 50})).json()
        item = (await c.post(f"/api/programs/{p['id']}/items", json={"name": "Earplugs"})).json()
        kit = (await c.post(f"/api/programs/{p['id']}/kits", json={"name": f"Calm kit {tag}", "items": [{"item_id": item["id"], "quantity": 1}]})).json()
        a = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "activation", "title": "Sound bath", "space_id": s["id"], "capacity": 20, "kit_id": kit["id"],
            "starts_at": f"{start.isoformat()}T15:00", "ends_at": f"{start.isoformat()}T16:00"})).json()
        locations = (await c.get(f"/api/programs/{p['id']}/locations")).json()
    shelf = next(loc for loc in locations if loc["name"] == s["name"])

    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    try:
        await login(page, live_server, ADMIN_EMAIL, next=f"/programs/{p['id']}/stock")
        await page.select_option("#rc-item", str(kit["id"]))
        await page.fill("#rc-qty", "5")
        await page.select_option("#rc-loc", str(shelf["id"]))
        async with page.expect_navigation():
            await page.click("form:has(#rc-qty) button[type=submit]")
        on_hand = page.locator("section", has=page.locator("#h-on-hand"))
        row = on_hand.locator("tr", has_text=f"Calm kit {tag}")
        await row.wait_for()
        assert "5" in await row.inner_text()

        # Seven people confirm; five kits wait in the tent: two short.
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as guest:
            for i in range(7):
                r = await guest.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"Guest {i}", "email": f"g{i}-{tag}@example.org"})
                assert r.status_code == 201 and r.json()["status"] == "confirmed"
        await page.goto(f"{live_server.base_url}/programs/{p['id']}/forecast")
        short = page.locator("td.short", has_text="2").first
        await short.wait_for()
        assert "2 short" in await page.locator("main").inner_text()
    finally:
        await ctx.close()
