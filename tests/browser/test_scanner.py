"""The staff scanner in real Chromium against the real server: the fake camera shows a ticket's QR and the
page admits it; with the network gone it judges from its offline pack, queues, and syncs when it is back."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import add_staff, login, qr_frame, rsvp, seed_running_activity, write_y4m

pytestmark = pytest.mark.browser


async def _status(server, staff, activity_id) -> dict:
    async with httpx.AsyncClient(base_url=server.base_url, headers=staff["headers"]) as c:
        r = await c.get("/api/scanner/status", params={"activity_id": activity_id})
        assert r.status_code == 200, r.text
        return r.json()


async def _pack(server, staff, activity_id) -> dict:
    async with httpx.AsyncClient(base_url=server.base_url, headers=staff["headers"]) as c:
        r = await c.get("/api/scanner/pack", params={"activity_id": activity_id})
        assert r.status_code == 200, r.text
        return r.json()


async def _open_scanner(page, server, staff, title: str, device: str) -> None:
    await login(page, server, staff["email"], staff["password"], next="/scan")
    await expect(page.locator("#scanner")).to_have_attribute("data-js", "ready")
    await page.fill("#device-name", device)
    await page.locator("#device-name").dispatch_event("change")
    await page.get_by_role("button", name=title).click()
    await expect(page.locator("#run")).to_be_visible()


async def test_camera_scan_admits_then_says_already_checked_in(live_server, launch_browser, tmp_path):
    seeded = await seed_running_activity(live_server, title="Morning breathwork")
    staff = await add_staff(live_server, seeded["program"]["id"], f"door-{seeded['tag']}@example.org")
    ticket = await rsvp(live_server, seeded["activity"]["id"], "Ada Lovelace")
    qr_url = urlsplit(ticket["ticket"]["qr_png_url"])
    async with httpx.AsyncClient(base_url=live_server.base_url) as c:
        png = (await c.get(f"{qr_url.path}?{qr_url.query}")).content
    browser = await launch_browser(write_y4m(tmp_path / "ticket.y4m", qr_frame(png)))
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await _open_scanner(page, live_server, staff, "Morning breathwork", "Tent door 1")
        result = page.locator("#result")
        await expect(result).to_have_attribute("data-kind", "admitted", timeout=20_000)
        await expect(page.locator("#result-title")).to_have_text("Admitted")
        await expect(page.locator("#result-name")).to_have_text("Ada Lovelace")
        # Desktop Chromium has no BarcodeDetector: this was the vendored jsQR decoder.
        assert await page.evaluate("'BarcodeDetector' in window") is False
        await expect(page.locator("#scanner")).to_have_attribute("data-decoder", "jsqr")
        await expect(page.locator("#count-in")).to_have_text("1")

        # The ticket stays in view: no second judgement until staff ask to scan again.
        await page.wait_for_timeout(1500)
        await expect(result).to_have_attribute("data-kind", "admitted")
        await page.click("#rescan")
        await expect(result).to_have_attribute("data-kind", "already", timeout=10_000)
        await expect(page.locator("#result-title")).to_have_text("Already checked in")
        await expect(page.locator("#result-detail")).to_contain_text("by Tent door 1")
    finally:
        await context.close()
    status = await _status(live_server, staff, seeded["activity"]["id"])
    assert (status["checked_in"], status["expected"]) == (1, 1)


async def test_offline_scan_is_queued_and_synced_when_back_online(live_server, browser):
    seeded = await seed_running_activity(live_server, title="Sound bath")
    aid = seeded["activity"]["id"]
    staff = await add_staff(live_server, seeded["program"]["id"], f"gate-{seeded['tag']}@example.org")
    first = await rsvp(live_server, aid, "Grace Hopper")
    second = await rsvp(live_server, aid, "Katherine Johnson")
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await _open_scanner(page, live_server, staff, "Sound bath", "Gate 7")
        scanner = page.locator("#scanner")
        # Online first: the service worker controls the page and the pack (2 tickets) is on the device.
        await expect(scanner).to_have_attribute("data-offline-ready", "yes", timeout=20_000)
        await expect(page.locator("#ready")).to_contain_text("2 tickets")

        # Another door admits the second guest after this device took its pack: the pack does not know.
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=staff["headers"]) as c:
            r = await c.post("/api/checkins", json={"code": second["ticket"]["code"], "device": "Gate 2"})
            assert r.json()["result"] == "admitted"

        await context.set_offline(True)
        # The page itself comes from the service worker now, and picks up where it was.
        await page.reload()
        await expect(scanner).to_have_attribute("data-js", "ready")
        await expect(page.locator("#run")).to_be_visible()

        await page.fill("#manual-code", first["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        await expect(page.locator("#result")).to_have_attribute("data-kind", "admitted")
        await expect(page.locator("#result")).to_have_attribute("data-offline", "yes")
        await expect(page.locator("#result-name")).to_have_text("Grace H.")
        await expect(page.locator("#net")).to_have_text("Offline — 1 scan waiting")
        await expect(scanner).to_have_attribute("data-waiting", "1")

        # Scanning the same ticket again on this device, still offline, is refused from the local queue.
        await page.fill("#manual-code", first["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        await expect(page.locator("#result")).to_have_attribute("data-kind", "already")
        await expect(page.locator("#result-detail")).to_contain_text("by Gate 7")

        await page.fill("#manual-code", second["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        await expect(page.locator("#result")).to_have_attribute("data-kind", "admitted")
        await expect(page.locator("#net")).to_have_text("Offline — 3 scans waiting")
        assert (await _status(live_server, staff, aid))["checked_in"] == 1  # nothing reached the server

        await context.set_offline(False)
        await expect(scanner).to_have_attribute("data-waiting", "0", timeout=25_000)
        await expect(page.locator("#net")).to_have_text("Online", timeout=10_000)
        # The second guest was admitted at Gate 2 first: the device shows what changed.
        conflicts = page.locator("#conflict-list li")
        await expect(conflicts).to_have_count(1)
        await expect(conflicts.first).to_contain_text("Katherine Johnson")
        await expect(conflicts.first).to_contain_text("Already checked in")
        await expect(conflicts.first).to_contain_text("Gate 2")
    finally:
        await context.close()

    status = await _status(live_server, staff, aid)
    assert (status["checked_in"], status["expected"]) == (2, 2)
    pack = await _pack(live_server, staff, aid)
    devices = {pack["tickets"][i][1]: device for i, _slot, _at, device in pack["checkins"]}
    assert devices == {"Grace H.": "Gate 7", "Katherine J.": "Gate 2"}


async def test_a_scan_whose_request_fails_is_judged_here_and_synced_later(live_server, browser):
    """The browser still says "online" but the server cannot be reached (a dead access point)."""
    seeded = await seed_running_activity(live_server, title="Tea ceremony", max_guests=2)
    aid = seeded["activity"]["id"]
    staff = await add_staff(live_server, seeded["program"]["id"], f"tea-{seeded['tag']}@example.org")
    guest = await rsvp(live_server, aid, "Mary Jackson", guests=1)
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await _open_scanner(page, live_server, staff, "Tea ceremony", "Tea tent")
        await expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "yes", timeout=20_000)
        await page.route("**/api/checkins**", lambda route: route.abort("internetdisconnected"))
        await page.fill("#manual-code", guest["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        await expect(page.locator("#result")).to_have_attribute("data-kind", "admitted")
        await expect(page.locator("#result")).to_have_attribute("data-offline", "yes")
        await expect(page.locator("#result-party")).to_have_text("Party of 2")
        await expect(page.locator("#net")).to_have_text("Offline — 1 scan waiting")
        await page.unroute("**/api/checkins**")
        # No "online" event comes: the page finds the server again by itself and syncs.
        await expect(page.locator("#scanner")).to_have_attribute("data-waiting", "0", timeout=25_000)
        await expect(page.locator("#net")).to_have_text("Online")
        await expect(page.locator("#conflict-list li")).to_have_count(0)
    finally:
        await context.close()
    assert (await _status(live_server, staff, aid))["checked_in"] == 2


async def test_following_a_space_scans_what_is_on_there_now(live_server, browser):
    seeded = await seed_running_activity(live_server, title="Breath and sound")
    staff = await add_staff(live_server, seeded["program"]["id"], f"follow-{seeded['tag']}@example.org")
    guest = await rsvp(live_server, seeded["activity"]["id"], "Dorothy Vaughan")
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await login(page, live_server, staff["email"], staff["password"], next="/scan")
        await expect(page.locator("#scanner")).to_have_attribute("data-js", "ready")
        await page.select_option("#space-pick", label=seeded["space"]["name"])
        await page.click("#follow-space")
        await expect(page.locator("#run-activity")).to_have_text("Breath and sound")
        await expect(page.locator("#run-follow")).to_have_text(f"Following {seeded['space']['name']}")
        await page.fill("#manual-code", guest["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        await expect(page.locator("#result")).to_have_attribute("data-kind", "admitted")
        # The choice is kept on the device: a reload goes straight back to scanning.
        await page.reload()
        await expect(page.locator("#run")).to_be_visible()
        await expect(page.locator("#run-activity")).to_have_text("Breath and sound")
    finally:
        await context.close()


async def test_scan_page_sends_a_logged_out_visitor_to_login(live_server, browser):
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{live_server.base_url}/scan")
        assert urlsplit(page.url).path == "/login"
    finally:
        await context.close()


def test_browser_helpers_write_a_readable_y4m(tmp_path):
    from PIL import Image

    path = write_y4m(tmp_path / "x.y4m", Image.new("RGB", (100, 50), "black"), frames=2)
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg"
    frame = 640 * 480 * 3 // 2
    assert rest.count(b"FRAME\n") >= 2 and len(rest) == 2 * (len(b"FRAME\n") + frame)
