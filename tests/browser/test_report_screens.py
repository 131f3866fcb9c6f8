"""The impact report in Chromium at a phone's and a desk's width (PLANNER_SCREENSHOTS=folder keeps the PNGs):
the charts draw, the page has no horizontal scroll at 360 px, and axe finds no serious problem."""
from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import add_staff, login
from tests.conftest import Api
from tests.reports import scenario

pytestmark = pytest.mark.browser
# axe-core as vendored for the browser tests, or from an npm install named by PLANNER_AXE.
AXE = next((p for p in (Path(os.environ.get("PLANNER_AXE", "/nonexistent")), Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js",
                        Path("/tmp/axe/node_modules/axe-core/axe.min.js")) if p.exists()), None)


async def test_report_page_at_phone_and_desk_width(live_server, browser, tmp_path):
    out = Path(os.environ.get("PLANNER_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as c:
        api = Api(c, live_server.token)

        async def make_staff(pid: int) -> Api:
            staff = await add_staff(live_server, pid, "report-staff@example.org")
            return Api(c, staff["headers"]["Authorization"][7:])

        s = await scenario.build(api, c, make_staff=make_staff)
    pid = s["program"]["id"]
    for width in (360, 1280):
        context = await browser.new_context(viewport={"width": width, "height": 900})
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda m, seen=console: seen.append(m.text))
        await login(page, live_server, live_server.email, next=f"/programs/{pid}/report")
        for shareable in (False, True):
            url = f"{live_server.base_url}/programs/{pid}/report" + ("?shareable=true" if shareable else "")
            await page.goto(url)
            assert await page.locator("svg.chart").count() == 4
            box = await page.locator("svg.chart").first.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100
            # Nothing wider than the screen but the tables' own scrolling regions.
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            name = f"report-{'shareable-' if shareable else ''}{width}.png"
            await page.screenshot(path=str(out / name), full_page=True)
        # The page keeps to the Content-Security-Policy (no inline script or style is refused).
        assert not [m for m in console if "Content Security Policy" in m], console
        await context.close()
    if AXE is not None:
        # axe is injected as an inline script, which the policy refuses: this context bypasses it.
        context = await browser.new_context(viewport={"width": 360, "height": 900}, bypass_csp=True)
        page = await context.new_page()
        await login(page, live_server, live_server.email, next=f"/programs/{pid}/report")
        for suffix in ("", "?shareable=true"):
            await page.goto(f"{live_server.base_url}/programs/{pid}/report{suffix}")
            await page.add_script_tag(content=AXE.read_text())
            violations = await page.evaluate("async () => (await axe.run()).violations")
            serious = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations if v["impact"] in ("serious", "critical")]
            assert not serious, serious
        await context.close()


async def test_feedback_turned_on_from_the_report_and_answered_with_one_tap(live_server, browser, tmp_path):
    out = Path(os.environ.get("PLANNER_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as c:
        api = Api(c, live_server.token)

        async def make_staff(pid: int) -> Api:
            staff = await add_staff(live_server, pid, "feedback-staff@example.org")
            return Api(c, staff["headers"]["Authorization"][7:])

        s = await scenario.build(api, c, make_staff=make_staff)
    pid = s["program"]["id"]
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await login(page, live_server, live_server.email, next=f"/programs/{pid}/report")
    await page.click("text=Turn feedback on")
    await page.wait_for_url("**m=feedback_on**")
    await context.close()

    guest = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await guest.new_page()
    await page.goto(s["rsvps"]["alice2"]["manage_url"])
    faces = page.locator("#feedback form").first
    await page.locator("#feedback").scroll_into_view_if_needed()
    await page.screenshot(path=str(out / "guest-feedback-360.png"), full_page=True)
    await faces.get_by_role("button", name="Good", exact=True).click()
    await page.wait_for_url("**m=feedback**")
    assert "Your answer is counted without your name" in await page.locator("#feedback").inner_text()
    await page.get_by_role("button", name="Yes", exact=True).click()
    await page.wait_for_url("**m=feedback**")
    assert "You have answered both questions" in await page.locator("#feedback").inner_text()
    await page.screenshot(path=str(out / "guest-feedback-done-360.png"), full_page=True)
    await guest.close()
    async with live_server.api() as c:
        fb = (await c.get(f"/api/programs/{pid}/report")).json()["feedback"]
    assert fb["mood"] == {"4": 1} and fb["again"] == {"yes": 1}
