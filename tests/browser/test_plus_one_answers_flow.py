"""A required question asked per plus-one, in real Chromium: the page asks it once per plus-one chosen,
the browser requires it for each shown plus-one, and the server's refusal sits next to the field."""
from __future__ import annotations

import os
import uuid
from datetime import date, timedelta

import pytest

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PLANNER_SCREENSHOTS", "/tmp/planner-screens")


async def _activity(server) -> tuple[dict, dict]:
    tag = uuid.uuid4().hex[:6]
    start = date.today() + timedelta(days=10)
    async with server.api() as c:
        p = (await c.post("/api/programs", json={"name": f"Plus-one Days {tag}", "timezone": "Europe/London", "country": "GB",
                                                  "starts_on": start.isoformat(), "ends_on": (start + timedelta(days=1)).isoformat()})).json()
        s = (await c.post(f"/api/programs/{p['id']}/spaces", json={"name": f"Supper tent {tag}", "capacity": 30})).json()
        a = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "activation", "title": "Shared supper", "space_id": s["id"], "starts_at": f"{start.isoformat()}T18:00",
            "ends_at": f"{start.isoformat()}T19:00", "capacity": 12, "rsvp_mode": "open", "max_guests": 2, "published": True})).json()
        q = (await c.post(f"/api/activities/{a['id']}/questions",
                          json={"label": "Dietary needs", "required": True, "per_guest": True})).json()
    return a, q


@pytest.mark.parametrize("width", [360, 1280])
async def test_per_plus_one_question_is_required_for_each_plus_one_and_refused_at_its_field(live_server, browser, width):
    a, q = await _activity(live_server)
    qid = q["id"]
    ctx = await browser.new_context(viewport={"width": width, "height": 900})
    page = await ctx.new_page()
    try:
        await page.goto(f"{live_server.base_url}/a/{a['id']}")
        await page.fill("#name", "Ana Lima")
        await page.fill("#email", f"ana-{uuid.uuid4().hex[:6]}@example.org")
        await page.fill(f"#q{qid}", "Vegan")
        # No plus-ones: their questions are hidden and not required.
        assert not await page.is_visible(f"#pq{qid}_1")
        await page.fill("#guests", "2")
        assert await page.is_visible(f"#pq{qid}_2")
        assert await page.eval_on_selector(f"#pq{qid}_1", "el => el.required")
        assert await page.eval_on_selector(f"#pq{qid}_2", "el => el.required")
        await page.fill(f"#pq{qid}_1", "None")
        # The browser stops the form itself; the server's check is what stands when it does not.
        assert not await page.eval_on_selector("main form", "f => f.checkValidity()")
        await page.eval_on_selector("main form", "f => { f.noValidate = true; }")
        async with page.expect_navigation():
            await page.click("main form button[type=submit]")
        error = page.locator(f"#pq{qid}_2-error")
        assert await error.inner_text() == "Please answer “Dietary needs” for plus-one 2."
        assert await page.get_attribute(f"#pq{qid}_2", "aria-invalid") == "true"
        assert await page.is_visible(f"#pq{qid}_2")  # its plus-one's questions stay shown
        assert await page.input_value(f"#pq{qid}_1") == "None"
        box, field = await error.bounding_box(), await page.locator(f"#pq{qid}_2").bounding_box()
        assert 0 <= box["y"] - (field["y"] + field["height"]) < 40  # right under the field
        os.makedirs(SHOTS, exist_ok=True)
        await page.locator(f"#pq{qid}_2").scroll_into_view_if_needed()
        await page.screenshot(path=f"{SHOTS}/plus-one-refused-{width}.png", full_page=True)

        await page.fill(f"#pq{qid}_2", "Gluten-free")
        async with page.expect_navigation():
            await page.click("main form button[type=submit]")
        assert "/r/" in page.url
    finally:
        await ctx.close()
    async with live_server.api() as c:
        rows = (await c.get(f"/api/activities/{a['id']}/rsvps", params={"sensitive": "true"})).json()
    assert len(rows) == 1 and rows[0]["guests"] == 2
    assert rows[0]["answers"]["plus_ones"] == [{str(qid): "None"}, {str(qid): "Gluten-free"}]
