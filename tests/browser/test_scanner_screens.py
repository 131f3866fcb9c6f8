"""The scanner's states at a phone's and a desk's width, as screenshots (PLANNER_SCREENSHOTS=folder keeps them):
choosing, ready, admitted with a kit, already checked in, not a valid ticket, and offline with a scan waiting."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import add_staff, login, rsvp, seed_running_activity

pytestmark = pytest.mark.browser


async def _kit(server, program_id: int, space_id: int) -> int:
    async with server.api() as c:
        item = (await c.post(f"/api/programs/{program_id}/items", json={"name": "Earplugs"})).json()
        kit = (await c.post(f"/api/programs/{program_id}/kits", json={"name": "Calm kit", "items": [{"item_id": item["id"], "quantity": 1}]})).json()
        shelf = next(x for x in (await c.get(f"/api/programs/{program_id}/locations")).json() if x.get("space_id") == space_id)
        r = await c.post(f"/api/programs/{program_id}/stock/movements",
                         json={"item_id": kit["id"], "quantity": 20, "kind": "receive", "location_id": shelf["id"]})
        assert r.status_code == 201, r.text
        return kit["id"]


@pytest.mark.parametrize("width", [360, 1280])
async def test_scanner_states_at_phone_and_desk_width(live_server, browser, tmp_path, width):
    out = Path(os.environ.get("PLANNER_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    seeded = await seed_running_activity(live_server, title="Sunset sound bath", max_guests=3)
    pid, aid = seeded["program"]["id"], seeded["activity"]["id"]
    kit_id = await _kit(live_server, pid, seeded["space"]["id"])
    async with live_server.api() as c:
        assert (await c.patch(f"/api/activities/{aid}", json={"kit_id": kit_id})).status_code == 200
    staff = await add_staff(live_server, pid, f"screens-{width}-{seeded['tag']}@example.org")
    guests = [await rsvp(live_server, aid, name, guests=g) for name, g in
              (("Maria Okafor", 2), ("Sam Rivera", 0), ("Chen Wei", 1))]

    context = await browser.new_context(viewport={"width": width, "height": 800 if width > 400 else 780}, device_scale_factor=1)
    page = await context.new_page()
    result = page.locator("#result")

    async def shot(name: str) -> None:
        await page.evaluate("window.scrollTo(0, 0)")
        await page.wait_for_timeout(150)
        await page.screenshot(path=str(out / f"scanner-{width}-{name}.png"), full_page=width > 400)

    async def scan(code: str, kind: str) -> None:
        await page.fill("#manual-code", code)
        await page.press("#manual-code", "Enter")
        await expect(result).to_have_attribute("data-kind", kind)
        await page.locator("#manual-code").blur()

    try:
        await login(page, live_server, staff["email"], staff["password"], next="/scan")
        await expect(page.locator("#scanner")).to_have_attribute("data-js", "ready")
        await page.fill("#device-name", "Tent door 1")
        await page.locator("#device-name").dispatch_event("change")
        await shot("choose")
        await page.get_by_role("button", name="Sunset sound bath").click()
        await expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "yes", timeout=20_000)
        await shot("idle")
        await scan(guests[0]["ticket"]["code"], "admitted")
        await expect(page.locator("#result-kit")).to_have_text("Hand out: Calm kit × 3")
        await shot("admitted")
        await scan(guests[0]["ticket"]["code"], "already")
        await shot("already")
        await scan("NOT-A-TICKET-42", "refused")
        await expect(page.locator("#result-title")).to_have_text("Not a valid ticket")
        await shot("invalid")
        await context.set_offline(True)
        await scan(guests[1]["ticket"]["code"], "admitted")
        await expect(page.locator("#net")).to_have_text("Offline — 1 scan waiting")
        await shot("offline")
        await context.set_offline(False)
        await expect(page.locator("#scanner")).to_have_attribute("data-waiting", "0", timeout=25_000)
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=staff["headers"]) as c:
        status = (await c.get("/api/scanner/status", params={"activity_id": aid})).json()
    assert (status["checked_in"], status["expected"]) == (4, 6)
