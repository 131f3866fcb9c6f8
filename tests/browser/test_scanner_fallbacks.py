"""The scanner's fallbacks at the door, in real Chromium against the real server: finding a guest by name and
admitting them (online; offline the device's guest list is searched but holds no codes), admitting anyway a
ticket for another slot of the same activity with a reason, and an offline reload that keeps what was chosen.
Screenshots at 360 and 1280 px of the search results and the admit-anyway prompt (PLANNER_SCREENSHOTS=folder
keeps them), each state audited with axe."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import add_staff, login, rsvp, seed_running_activity
from tests.browser.test_accessibility import axe_problems

pytestmark = pytest.mark.browser


async def _open(page, server, staff, title: str, *, day: str | None = None) -> None:
    await login(page, server, staff["email"], staff["password"], next="/scan" + (f"?day={day}" if day else ""))
    await expect(page.locator("#scanner")).to_have_attribute("data-js", "ready")
    await page.fill("#device-name", "Door A")
    await page.locator("#device-name").dispatch_event("change")
    await page.get_by_role("button", name=title).click()
    await expect(page.locator("#run")).to_be_visible()


async def _status(server, staff, activity_id: int) -> dict:
    async with httpx.AsyncClient(base_url=server.base_url, headers=staff["headers"]) as c:
        return (await c.get("/api/scanner/status", params={"activity_id": activity_id})).json()


async def test_staff_admits_a_guest_found_by_name_with_the_keyboard(live_server, browser):
    seeded = await seed_running_activity(live_server, title="Forest bathing", max_guests=2)
    aid = seeded["activity"]["id"]
    staff = await add_staff(live_server, seeded["program"]["id"], f"names-{seeded['tag']}@example.org")
    ada = await rsvp(live_server, aid, "Ada Lovelace", guests=1)
    await rsvp(live_server, aid, "Grace Hopper")
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await _open(page, live_server, staff, "Forest bathing")
        await page.focus("#search-q")
        await page.keyboard.type("lovel")
        await page.keyboard.press("Enter")
        found = page.locator("#search-results li")
        await expect(found).to_have_count(1)
        await expect(found.first).to_contain_text("Ada Lovelace")
        await expect(found.first).to_contain_text(ada["ticket"]["code"])
        await expect(found.first).to_contain_text("Not checked in yet")
        await expect(page.locator("#search-msg")).to_have_text("1 guest found")
        # From the field to the guest's button with the keyboard, and admit.
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Admit Ada Lovelace")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#result")).to_have_attribute("data-kind", "admitted")
        await expect(page.locator("#result-name")).to_have_text("Ada Lovelace")
        await expect(page.locator("#result-party")).to_have_text("Party of 2")
        # The list is asked again: the guest is in now.
        await expect(found.first).to_contain_text("Already checked in")
        await expect(page.locator("#count-in")).to_have_text("2")
        # A name nobody has.
        await page.fill("#search-q", "Nobody Here")
        await page.press("#search-q", "Enter")
        await expect(found).to_have_count(0)
        await expect(page.locator("#search-msg")).to_have_text("No guest of this activity has that name.")
    finally:
        await context.close()
    status = await _status(live_server, staff, aid)
    assert (status["checked_in"], status["expected"]) == (2, 3)


async def test_offline_search_lists_names_from_the_pack_but_cannot_admit(live_server, browser):
    seeded = await seed_running_activity(live_server, title="Cold plunge")
    aid = seeded["activity"]["id"]
    staff = await add_staff(live_server, seeded["program"]["id"], f"offname-{seeded['tag']}@example.org")
    await rsvp(live_server, aid, "Émile Zola")
    await rsvp(live_server, aid, "Grace Hopper")
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await _open(page, live_server, staff, "Cold plunge")
        await expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "yes", timeout=20_000)
        await context.set_offline(True)
        await page.fill("#search-q", "emile")   # accents and case do not matter
        await page.press("#search-q", "Enter")
        found = page.locator("#search-results li")
        await expect(found).to_have_count(1)
        await expect(found.first).to_contain_text("Émile Z.")   # the pack's short name
        await expect(found.first).to_contain_text("Not checked in yet")
        await expect(found.first.locator("button")).to_have_count(0)   # no code on the device: no admitting by name
        await expect(page.locator("#search-msg")).to_contain_text("Admitting by name needs the network")
        await page.fill("#search-q", "e")
        await page.press("#search-q", "Enter")
        await expect(found).to_have_count(0)
        await expect(page.locator("#search-msg")).to_have_text("Type at least 2 letters of the name.")
    finally:
        await context.close()


async def test_a_ticket_for_another_slot_is_admitted_anyway_with_a_reason(live_server, browser):
    seeded = await seed_running_activity(live_server, title="Massage", slot_minutes=30)
    aid, slots = seeded["activity"]["id"], seeded["activity"]["slots"]
    now_slot, later_slot = slots[0]["id"], slots[2]["id"]
    staff = await add_staff(live_server, seeded["program"]["id"], f"anyway-{seeded['tag']}@example.org")
    guest = await rsvp(live_server, aid, "Lin Late", slot_id=later_slot)
    tz = seeded["program"]["timezone"]
    later_starts = datetime.fromisoformat(slots[2]["starts_at"])
    if later_starts.tzinfo is None:
        later_starts = later_starts.replace(tzinfo=ZoneInfo(tz))
    later_time = later_starts.astimezone(ZoneInfo(tz)).strftime("%H:%M")
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await _open(page, live_server, staff, "Massage")
        await expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "yes", timeout=20_000)
        await page.select_option("#slot-pick", str(now_slot))
        await page.fill("#manual-code", guest["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        result = page.locator("#result")
        await expect(result).to_have_attribute("data-kind", "refused")
        await expect(page.locator("#result-title")).to_have_text("Booked for another slot")
        await expect(page.locator("#result-detail")).to_contain_text(later_time)
        prompt = page.locator("#override")
        await expect(prompt).to_be_visible()
        # Staff were typing: they go on with the reason, no mouse needed.
        await expect(page.locator("#override-reason")).to_be_focused()
        # The verdict and the prompt stay while staff decide (a result otherwise clears after 6 s).
        await page.wait_for_timeout(6500)
        await expect(prompt).to_be_visible()
        await expect(result).to_have_attribute("data-kind", "refused")
        # The reason is required.
        await page.click("#override-submit")
        assert await page.locator("#override-reason").evaluate("el => el.validity.valueMissing") is True
        await expect(prompt).to_be_visible()
        await expect(result).to_have_attribute("data-kind", "refused")
        await page.focus("#override-reason")
        await page.keyboard.type("Their slot was moved")
        await page.keyboard.press("Enter")
        await expect(result).to_have_attribute("data-kind", "admitted")
        await expect(page.locator("#result-name")).to_have_text("Lin Late")
        await expect(page.locator("#result-note")).to_have_text("Admitted anyway; the reason is recorded.")
        await expect(prompt).to_be_hidden()
    finally:
        await context.close()
    # The guest is in: scanning again says so.
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=staff["headers"]) as c:
        again = (await c.post("/api/checkins", json={"code": guest["ticket"]["code"], "device": "Check"})).json()
    assert again["result"] == "already_checked_in", again


async def test_an_offline_reload_keeps_the_chosen_day_activity_and_slot(live_server, browser):
    """First visit straight to another day's list, so the service worker's own copy of /scan is today's."""
    tz = "Europe/Berlin"
    seeded = await seed_running_activity(live_server, title="Today's yoga", tz=tz)
    pid = seeded["program"]["id"]
    tomorrow = datetime.now(UTC).astimezone(ZoneInfo(tz)).date() + timedelta(days=1)
    async with live_server.api() as c:
        r = await c.post(f"/api/programs/{pid}/activities", json={
            "kind": "activation", "title": "Tomorrow's massage", "space_id": seeded["space"]["id"], "capacity": 10, "rsvp_mode": "open",
            "starts_at": f"{tomorrow}T10:00", "ends_at": f"{tomorrow}T11:30", "slot_minutes": 30})
        assert r.status_code == 201, r.text
        massage = r.json()
    second = massage["slots"][1]["id"]
    staff = await add_staff(live_server, pid, f"reload-{seeded['tag']}@example.org")
    guest = await rsvp(live_server, massage["id"], "Rosa Parks", slot_id=second)
    context = await browser.new_context(viewport={"width": 412, "height": 900})
    page = await context.new_page()
    try:
        await _open(page, live_server, staff, "Tomorrow's massage", day=tomorrow.isoformat())
        await page.select_option("#slot-pick", str(second))
        scanner = page.locator("#scanner")
        await expect(scanner).to_have_attribute("data-offline-ready", "yes", timeout=20_000)

        await context.set_offline(True)
        await page.reload()
        await expect(scanner).to_have_attribute("data-js", "ready")
        await expect(page.locator("#run")).to_be_visible()
        await expect(page.locator("#run-activity")).to_have_text("Tomorrow's massage")
        await expect(page.locator("#slot-pick")).to_have_value(str(second))
        await expect(page.locator("#ready")).to_contain_text("1 tickets")
        await page.fill("#manual-code", guest["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        await expect(page.locator("#result")).to_have_attribute("data-kind", "admitted")
        await expect(page.locator("#result")).to_have_attribute("data-offline", "yes")
        await expect(page.locator("#result-name")).to_have_text("Rosa P.")

        # "Change" goes back to the list of the day in the address, from the device's copy.
        await page.click("#change")
        await expect(page.get_by_role("button", name="Tomorrow's massage")).to_be_visible()
        await context.set_offline(False)
        await expect(scanner).to_have_attribute("data-waiting", "0", timeout=25_000)
    finally:
        await context.close()
    status = await _status(live_server, staff, massage["id"])
    assert status["checked_in"] == 1


@pytest.mark.parametrize("width", [360, 1280])
async def test_screens_of_search_results_and_admit_anyway(live_server, browser, tmp_path, width):
    out = Path(os.environ.get("PLANNER_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    seeded = await seed_running_activity(live_server, title="Breath and sound", slot_minutes=30)
    aid, slots = seeded["activity"]["id"], seeded["activity"]["slots"]
    staff = await add_staff(live_server, seeded["program"]["id"], f"shots-{width}-{seeded['tag']}@example.org")
    late = await rsvp(live_server, aid, "Marta Morales", slot_id=slots[2]["id"])
    for name in ("Mariam Haddad", "Mario Rossi"):
        await rsvp(live_server, aid, name, slot_id=slots[0]["id"])

    # Without the CSP for axe only: the other tests here load the page with it.
    context = await browser.new_context(viewport={"width": width, "height": 800 if width > 400 else 780}, device_scale_factor=1,
                                        bypass_csp=True)
    page = await context.new_page()
    problems: list[str] = []

    async def shot(name: str) -> None:
        await page.wait_for_timeout(150)
        await page.screenshot(path=str(out / f"scanner-{width}-{name}.png"), full_page=True)
        problems.extend(f"{name}: {p}" for p in await axe_problems(page))

    try:
        await _open(page, live_server, staff, "Breath and sound")
        await expect(page.locator("#scanner")).to_have_attribute("data-offline-ready", "yes", timeout=20_000)
        await page.click("#camera-toggle")   # the blank fake camera: stopped, as staff typing would
        await page.fill("#search-q", "mar")
        await page.press("#search-q", "Enter")
        await expect(page.locator("#search-results li")).to_have_count(3)
        await page.locator("#search-q").blur()
        await shot("search")
        await context.set_offline(True)   # the same search from the device's own list
        await page.press("#search-q", "Enter")
        await expect(page.locator("#search-msg")).to_contain_text("Admitting by name needs the network")
        await expect(page.locator("#search-results li")).to_have_count(3)
        await expect(page.locator("#search-results button")).to_have_count(0)
        await page.locator("#search-q").blur()
        await shot("search-offline")
        await context.set_offline(False)
        await page.reload()
        await expect(page.locator("#run")).to_be_visible()
        await page.select_option("#slot-pick", str(slots[0]["id"]))
        await page.fill("#manual-code", late["ticket"]["code"])
        await page.press("#manual-code", "Enter")
        await expect(page.locator("#override")).to_be_visible()
        await page.locator("#manual-code").blur()
        await page.evaluate("window.scrollTo(0, 0)")
        await shot("admit-anyway")
    finally:
        await context.close()
    assert not problems, "\n".join(problems)
