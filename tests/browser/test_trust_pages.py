"""Every page under the Content-Security-Policy in real Chromium: no violation in the console; and the
team, account and audit pages at phone and desktop widths (screenshots in PLANNER_SHOTS, if set)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from litestar.routes import HTTPRoute

from planner.app import create_app
from tests.browser.conftest import (
    ADMIN_EMAIL,
    add_staff,
    login,
    rsvp,
    seed_running_activity,
)

pytestmark = pytest.mark.browser

# Files, feeds and service workers are not pages.
NOT_PAGES = re.compile(r"(\.(ics|png|svg|pdf|js|csv)$|^/static|^/api/|^/schema|^/health|^/feeds/|/events$)")
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


def page_paths(ids: dict[str, str]) -> list[str]:
    app = create_app(run_worker=False)
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods or NOT_PAGES.search(route.path):
            continue
        path = route.path
        for name, kind in re.findall(r"{(\w+):(\w+)}", path):
            path = path.replace(f"{{{name}:{kind}}}", ids.get(name, "1"))
        out.append(path)
    return sorted(set(out))


async def test_every_page_runs_under_the_csp_without_a_violation(live_server, browser):
    seed = await seed_running_activity(live_server, title="Sound bath")
    pid, aid, sid = seed["program"]["id"], seed["activity"]["id"], seed["space"]["id"]
    guest = await rsvp(live_server, aid, "Ana Lima")
    await add_staff(live_server, pid, f"crew-{seed['tag']}@example.org")
    rid, token = guest["id"], guest["manage_url"].split("token=", 1)[1]
    paths = page_paths({"program_id": str(pid), "activity_id": str(aid), "space_id": str(sid), "rsvp_id": str(rid)})
    assert {"/account", f"/programs/{pid}/team", f"/programs/{pid}/audit", "/scan", f"/programs/{pid}/schedule"} <= set(paths)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    await ctx.add_init_script(WATCH)
    page = await ctx.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    try:
        await login(page, live_server, ADMIN_EMAIL)
        visited = 0
        for path in paths + [f"/r/{rid}?token={token}", f"/a/{aid}", "/account/reset"]:
            if path.startswith("/r/") and "token=" not in path:
                path += f"?token={token}"
            resp = await page.goto(f"{live_server.base_url}{path}")
            assert resp is not None and resp.status < 500, (path, resp and resp.status)
            await page.wait_for_load_state("load")
            violations = await page.evaluate("window.__csp")
            assert violations == [], (path, violations)
            visited += 1
        assert console == [], console
        assert visited >= 25
        # The sizes the CSP no longer allows inline are applied from static/js/layout.js.
        await page.goto(f"{live_server.base_url}/programs/{pid}/schedule?day={seed['activity']['starts_at'][:10]}")
        top = await page.eval_on_selector(".schedule .item", "el => getComputedStyle(el).top")
        assert top not in ("0px", "auto"), top
        cols = await page.eval_on_selector(".schedule", "el => el.style.getPropertyValue('--cols')")
        assert cols == "1"
    finally:
        await ctx.close()


async def test_team_account_and_audit_pages_at_phone_and_desktop(live_server, browser):
    seed = await seed_running_activity(live_server, title="Breathwork")
    pid = seed["program"]["id"]
    await add_staff(live_server, pid, f"crew-{seed['tag']}@example.org")
    async with live_server.api() as c:
        r = await c.post(f"/api/programs/{pid}/members/invite", json={"email": f"new-{seed['tag']}@example.org", "role": "organizer"})
        assert r.status_code == 201, r.text
        await c.post("/api/auth/token", json={"email": ADMIN_EMAIL, "password": "correct horse battery", "label": "ticketing sync"})
    shots = Path(os.environ.get("PLANNER_SHOTS", "")) if os.environ.get("PLANNER_SHOTS") else None
    for width in (360, 1280):
        ctx = await browser.new_context(viewport={"width": width, "height": 900})
        page = await ctx.new_page()
        try:
            await login(page, live_server, ADMIN_EMAIL)
            for name, path in (("team", f"/programs/{pid}/team"), ("account", "/account"), ("audit", f"/programs/{pid}/audit"),
                               ("admin", "/admin"), ("reset", "/account/reset")):
                await page.goto(f"{live_server.base_url}{path}")
                if shots:
                    shots.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                # Nothing wider than the screen.
                overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 1, (name, width, overflow)
            # The team page says how to add people without a shell.
            await page.goto(f"{live_server.base_url}/programs/{pid}/team")
            text = await page.inner_text("main")
            assert "planner user add" not in text and "invited, no password yet" in text
        finally:
            await ctx.close()
