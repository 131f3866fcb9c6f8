"""The help hub and the care team in Chromium: the pages at a phone's and a desk's width (PLANNER_SCREENSHOTS=folder
keeps them), the help pages offline once visited (service worker scoped to /help), the search box, and a care
message from a guest's page to the care inbox."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import expect

from planner.resources.hub import emergency_number
from tests.browser.conftest import PASSWORD, login, rsvp, seed_running_activity

pytestmark = pytest.mark.browser
JP = emergency_number("JP")


def _out(tmp_path) -> Path:
    out = Path(os.environ.get("PLANNER_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.mark.parametrize("width", [360, 1280])
async def test_help_and_care_pages_at_phone_and_desk_width(live_server, browser, tmp_path, width):
    out = _out(tmp_path)
    seeded = await seed_running_activity(live_server, title="Sunset sound bath", tz="America/New_York")
    async with live_server.api() as c:
        # A US programme (the seed makes a German one): the help hub puts its country first.
        p = (await c.post("/api/programs", json={"name": f"Riverside {seeded['tag']}", "timezone": "America/New_York", "country": "US",
                                                  "starts_on": seeded["program"]["starts_on"], "ends_on": seeded["program"]["ends_on"]})).json()
        s = (await c.post(f"/api/programs/{p['id']}/spaces", json={"name": "Tent", "capacity": 30})).json()
        a = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "activation", "title": "Sunset sound bath", "space_id": s["id"], "capacity": 20, "rsvp_mode": "open",
            "starts_at": seeded["activity"]["starts_at"][:16], "ends_at": seeded["activity"]["ends_at"][:16]})).json()
        await c.put(f"/api/programs/{p['id']}/care", json={"address": f"care-{seeded['tag']}@example.org"})
    guest = await rsvp(live_server, a["id"], "Maria Okafor")
    ctx = await browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
    page = await ctx.new_page()
    base = live_server.base_url

    await page.goto(f"{base}/help?program={p['id']}")
    await expect(page.locator("#home-heading")).to_contain_text("Vereinigte Staaten")
    await expect(page.locator(".home a.call.emergency")).to_have_attribute("href", "tel:911")
    await page.screenshot(path=str(out / f"help-{width}.png"), full_page=False)
    await page.fill("#q", "Alemanha")
    await expect(page.locator("#countries li:not([hidden])")).to_have_count(1)
    await expect(page.locator("#countries li:not([hidden]) a").first).to_have_text("Deutschland")
    # No horizontal scrolling at this width.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    await page.goto(f"{base}/help/GB")
    await expect(page.locator("a.call.emergency")).to_have_attribute("href", "tel:999")
    await page.screenshot(path=str(out / f"help-country-{width}.png"), full_page=True)
    await page.goto(f"{base}/help/KE")
    await expect(page.locator(".unreviewed").first).to_be_visible()
    await page.screenshot(path=str(out / f"help-country-unreviewed-{width}.png"), full_page=False)

    await page.goto(guest["manage_url"].replace("http://testserver.local", base) if guest["manage_url"].startswith("http://testserver") else guest["manage_url"])
    await page.locator(".care summary").click()
    await expect(page.locator(".care .notice.warn a.tel")).to_have_attribute("href", "tel:911")
    await page.fill("#care-message", "Hard night after the show. Could someone from the care team check in tomorrow?")
    await page.locator(".care").screenshot(path=str(out / f"care-form-{width}.png"))
    await page.click(".care button[type=submit]")
    await expect(page.locator("#sent-heading")).to_be_visible()
    await page.screenshot(path=str(out / f"care-sent-{width}.png"))

    await login(page, live_server, live_server.email, PASSWORD, next=f"/programs/{p['id']}/care")
    await expect(page.locator(".care-message")).to_have_count(1)
    await expect(page.locator(".care-text")).to_contain_text("Hard night after the show")
    await page.screenshot(path=str(out / f"care-inbox-{width}.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.goto(f"{base}/programs/{p['id']}/resources")
    await page.screenshot(path=str(out / f"resources-{width}.png"), full_page=False)
    await ctx.close()


async def test_help_pages_work_offline_once_visited(live_server, browser):
    ctx = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await ctx.new_page()
    base = live_server.base_url
    await page.goto(f"{base}/help")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # The worker controls the page after its first load; from then on visits are kept.
    await page.reload()
    assert await page.evaluate("navigator.serviceWorker.controller !== null")
    await page.goto(f"{base}/help/JP")
    await expect(page.locator("a.call.emergency")).to_have_attribute("href", f"tel:{JP}")
    await ctx.set_offline(True)
    await page.goto(f"{base}/help/JP")
    await expect(page.locator("a.call.emergency")).to_have_attribute("href", f"tel:{JP}")
    await expect(page.locator("link[href='/static/css/help.css']")).to_have_count(1)
    color = await page.evaluate("getComputedStyle(document.querySelector('a.call.emergency')).backgroundColor")
    assert color != "rgba(0, 0, 0, 0)"  # the stylesheet came from the kept copy
    # A country never visited falls back to the kept index, which lists every emergency number.
    await page.goto(f"{base}/help/PT")
    await expect(page.locator("#countries a[href='/help/PT']")).to_have_count(1)
    await page.goto(f"{base}/help")
    await page.fill("#q", "japon")
    await expect(page.locator("#countries li:not([hidden]) a.tel").first).to_have_text(JP)
    await ctx.set_offline(False)
    await ctx.close()
