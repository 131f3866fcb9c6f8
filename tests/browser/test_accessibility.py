"""Accessibility in real Chromium: axe-core on every guest, staff and organizer page at 360 and 1280 px,
keyboard-only RSVP, visible focus, text at 200 %, reduced motion, and pages in French and German.

axe-core is vendored from npm in tests/browser/vendor/axe-core (with its licence); it is injected into the
page by the test (with the page's Content-Security-Policy bypassed for that injection only), never served
by the app. Screenshots go to $PLANNER_A11Y_SHOTS when that is set.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.conftest import ADMIN_EMAIL, PASSWORD, add_staff, login, seed_running_activity

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
WIDTHS = (360, 1280)
SHOTS = os.environ.get("PLANNER_A11Y_SHOTS")


async def axe_problems(page) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now, one line per rule."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=AXE)
    violations = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations
            if v["impact"] in ("serious", "critical")]


async def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
async def world(live_server):
    """A programme with every kind of page filled in: a running activation with slots, a dinner by invitation,
    a residency, hosts, items and a kit, a confirmed guest and a waitlisted one, staff."""
    server = live_server
    seeded = await seed_running_activity(server, title="Breath and sound", capacity=2, max_guests=2)
    p, s, a = seeded["program"], seeded["space"], seeded["activity"]
    tag = seeded["tag"]
    async with server.api() as c:
        host = (await c.post(f"/api/programs/{p['id']}/hosts", json={"name": "Rosa Quiet"})).json()
        start = date.fromisoformat(p["starts_on"])
        dinner = (await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "dinner", "title": "Songwriters' table", "space_id": s["id"], "capacity": 8, "rsvp_mode": "invite",
            "starts_at": f"{start + timedelta(days=2)}T19:00", "ends_at": f"{start + timedelta(days=2)}T22:00",
            "max_guests": 1, "host_ids": [host["id"]]})).json()
        inv = (await c.post(f"/api/activities/{dinner['id']}/invitations", json={"name": "Maya", "email": f"maya-{tag}@example.org"})).json()
        item = (await c.post(f"/api/programs/{p['id']}/items", json={"name": "Earplugs", "sku": f"EAR-{tag}"})).json()
        kit = (await c.post(f"/api/programs/{p['id']}/kits", json={"name": "Calm kit", "items": [{"item_id": item["id"], "quantity": 2}]})).json()
        await c.post(f"/api/programs/{p['id']}/stock/movements", json={"item_id": item["id"], "quantity": 40, "kind": "receive"})
        guest = (await c.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana Lima", "email": f"ana-{tag}@example.org", "guests": 1})).json()
        waiting = (await c.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben Ode", "email": f"ben-{tag}@example.org"})).json()
        # Cleo answers her own invitation: Maya's stays unanswered, so its page is the invitation form.
        cleo = (await c.post(f"/api/activities/{dinner['id']}/invitations", json={"name": "Cleo", "email": f"cleo-{tag}@example.org"})).json()
        spare = (await c.post(f"/api/activities/{dinner['id']}/rsvps", json={"name": "Cleo", "email": f"cleo-{tag}@example.org",
                                                                              "invite_code": cleo["invite_code"]})).json()
    staff = await add_staff(server, p["id"], f"staff-{tag}@example.org")
    server.add_user(f"newcomer-{tag}@example.org")
    return {"server": server, "program": p, "space": s, "activity": a, "dinner": dinner, "invite": inv, "kit": kit,
            "guest": guest, "waiting": waiting, "spare": spare, "staff": staff, "host": host, "item": item,
            "link": account_link(server, f"newcomer-{tag}@example.org")}


def account_link(server, email: str) -> str:
    """A password link for `email`, made in the server's own database (its mail is only logged, token redacted)."""
    code = ("import sys\nfrom datetime import UTC, datetime\nfrom planner.cli import _run\n"
            "from planner.accounts.tables import User\nfrom planner.accounts.links import create_link\n"
            "async def work():\n"
            "    u = await User.select(User.id).where(User.email == sys.argv[1]).first()\n"
            "    return await create_link(u['id'], 'reset', now=datetime.now(UTC))\n"
            "print(_run(work))\n")
    out = subprocess.run([sys.executable, "-c", code, email], env=server.env, cwd=server.workdir,
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def guest_link(rsvp: dict) -> str:
    return rsvp["manage_url"].split("://", 1)[1].split("/", 1)[1]


def guest_pages(w: dict) -> list[tuple[str, str]]:
    p, a, d = w["program"], w["activity"], w["dinner"]
    return [
        ("activity", f"/a/{a['id']}"),
        ("dinner-invited", f"/a/{d['id']}?invite={w['invite']['invite_code']}"),
        ("dinner-closed", f"/a/{d['id']}"),
        ("guest-confirmed", "/" + guest_link(w["guest"])),
        ("guest-waitlisted", "/" + guest_link(w["waiting"])),
        ("guest-cancel", "/" + guest_link(w["guest"]).replace("?", "/cancel?", 1)),
        ("programme", f"/p/{p['id']}"),
        ("login", "/login"),
        ("password-reset", "/account/reset"),
        ("set-password", f"/account/set-password?token={w['link']}"),
        ("help", "/help"), ("help-country", "/help/US"),  # /help/licence is plain text, not a page
        ("help-search", f"/help?q=Alemanha&program={p['id']}"),
        ("not-found", "/a/987654321"),
    ]


def organizer_pages(w: dict) -> list[tuple[str, str]]:
    p, a = w["program"], w["activity"]
    return [
        ("home", "/"), ("programme-new", "/programs/new"), ("programme", f"/programs/{p['id']}"),
        ("programme-edit", f"/programs/{p['id']}/edit"), ("programme-delete", f"/programs/{p['id']}/delete"),
        ("programme-message", f"/programs/{p['id']}/message"),
        ("schedule", f"/programs/{p['id']}/schedule"), ("activity-new", f"/programs/{p['id']}/activities/new"),
        ("activity-edit", f"/activities/{a['id']}/edit"), ("manage", f"/activities/{a['id']}/manage"),
        ("activity-duplicate", f"/activities/{a['id']}/duplicate"), ("activity-message", f"/activities/{a['id']}/message"),
        ("confirm-cancel", f"/activities/{a['id']}/confirm/cancel"), ("confirm-delete", f"/activities/{a['id']}/confirm/delete"),
        ("confirm-remove", f"/activities/{a['id']}/confirm/remove?rsvp_id={w['waiting']['id']}"),
        ("space-edit", f"/spaces/{w['space']['id']}/edit"), ("host-edit", f"/hosts/{w['host']['id']}/edit"),
        ("item-edit", f"/items/{w['item']['id']}/edit"),
        ("manage-dinner", f"/activities/{w['dinner']['id']}/manage"),
        ("stock", f"/programs/{p['id']}/stock"), ("ledger", f"/programs/{p['id']}/ledger"),
        ("forecast", f"/programs/{p['id']}/forecast"), ("resources", f"/programs/{p['id']}/resources"),
        ("calendar", f"/programs/{p['id']}/calendar"), ("live", f"/programs/{p['id']}/live"),
        ("team", f"/programs/{p['id']}/team"), ("audit", f"/programs/{p['id']}/audit"),
        ("account", "/account"), ("admin", "/admin"),
        ("report", f"/programs/{p['id']}/report"), ("reports", "/reports"), ("care", f"/programs/{p['id']}/care"),
    ]


def staff_pages(w: dict) -> list[tuple[str, str]]:
    return [("scanner", "/scan"), ("presence", f"/spaces/{w['space']['id']}/presence"),
            ("live-staff", f"/programs/{w['program']['id']}/live"), ("account-staff", "/account")]


async def audit(page, base: str, pages: list[tuple[str, str]], label: str) -> list[str]:
    found = []
    for name, path in pages:
        r = await page.goto(base + path)
        # Only the page about a missing page may be missing: any other 404 would audit the error page instead.
        assert r is not None and r.status == (404 if name == "not-found" else 200), (path, r.status if r else None)
        # ...and a page that sends the browser elsewhere (an answered invitation) would audit that other page.
        assert page.url.split("?")[0] == (base + path).split("?")[0], (path, page.url)
        # Pages with a live connection (the dashboard) never go quiet: wait for their scripts, not the network.
        await page.wait_for_load_state("load")
        await page.wait_for_timeout(300)
        found += [f"{label} {name} {path}: {p}" for p in await axe_problems(page)]
        await shot(page, f"{label}-{name}")
    return found


@pytest.mark.parametrize("width", WIDTHS)
async def test_guest_pages_have_no_serious_axe_violations(world, browser, width):
    ctx = await browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = await ctx.new_page()
    try:
        problems = await audit(page, world["server"].base_url, guest_pages(world), f"guest-{width}")
        # The erased page comes from a form: erase the dinner guest's data.
        await page.goto(world["server"].base_url + "/" + guest_link(world["spare"]))
        await page.click("details summary")
        async with page.expect_navigation():
            await page.click("form[action*='/erase'] button[type=submit]")
        problems += [f"erased: {p}" for p in await axe_problems(page)]
        world["spare"] = (await _fresh_spare(world))
        problems += await _form_results(page, world)
    finally:
        await ctx.close()
    assert not problems, "\n".join(problems)


async def _form_results(page, w: dict) -> list[str]:
    """The pages a guest only reaches through a form: a refused RSVP, 'check your e-mail', a care message sent."""
    base, a, p = w["server"].base_url, w["activity"], w["program"]
    found = []
    # A refusal shown with the form (more plus-ones than allowed; the browser's own limit lifted to get there).
    await page.goto(f"{base}/a/{a['id']}")
    await page.fill("#name", "Too Many")
    await page.fill("#email", f"many-{uuid.uuid4().hex[:6]}@example.org")
    await page.evaluate("() => document.getElementById('guests').removeAttribute('max')")
    await page.fill("#guests", "9")
    async with page.expect_navigation():
        await page.click("form[action^='/a/'] button[type=submit]")
    assert await page.locator("#rsvp-error").count() == 1
    found += [f"rsvp-refused: {x}" for x in await axe_problems(page)]
    # The same address again: no link on the page, only 'we have e-mailed it to you'.
    await page.goto(f"{base}/a/{a['id']}")
    await page.fill("#name", "Ana Lima")
    await page.fill("#email", w["guest"]["email"])
    async with page.expect_navigation():
        await page.click("form[action^='/a/'] button[type=submit]")
    assert "/r/" not in page.url
    found += [f"check-email: {x}" for x in await axe_problems(page)]
    await shot(page, f"guest-{page.viewport_size['width']}-check-email")
    # A message to the care team from the public programme page.
    await page.goto(f"{base}/p/{p['id']}")
    await page.click(".care summary")
    await page.fill("#care-message", "Could someone check in after the show?")
    async with page.expect_navigation():
        await page.click(".care button[type=submit]")
    assert await page.locator("#sent-heading").count() == 1 and await page.locator(".notice.error").count() == 0
    found += [f"care-sent: {x}" for x in await axe_problems(page)]
    await shot(page, f"guest-{page.viewport_size['width']}-care-sent")
    return found


async def _fresh_spare(w: dict) -> dict:
    async with w["server"].api() as c:
        inv = (await c.post(f"/api/activities/{w['dinner']['id']}/invitations",
                            json={"name": "Dee", "email": f"dee-{uuid.uuid4().hex[:6]}@example.org"})).json()
        r = await c.post(f"/api/activities/{w['dinner']['id']}/rsvps", json={"name": "Dee", "email": f"dee-{uuid.uuid4().hex[:6]}@example.org",
                                                                             "invite_code": inv["invite_code"]})
        return r.json()


@pytest.mark.parametrize("width", WIDTHS)
async def test_organizer_pages_have_no_serious_axe_violations(world, browser, width):
    ctx = await browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = await ctx.new_page()
    try:
        await login(page, world["server"], ADMIN_EMAIL)
        problems = await audit(page, world["server"].base_url, organizer_pages(world), f"organizer-{width}")
    finally:
        await ctx.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
async def test_staff_pages_have_no_serious_axe_violations(world, browser, width):
    ctx = await browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = await ctx.new_page()
    try:
        await login(page, world["server"], world["staff"]["email"], PASSWORD)
        problems = await audit(page, world["server"].base_url, staff_pages(world), f"staff-{width}")
        # The scanner while running: pick the activity, check a code by hand, and audit the verdict shown.
        await page.goto(world["server"].base_url + "/scan")
        await page.click(f".activity-pick[data-activity='{world['activity']['id']}']")
        await page.fill("#manual-code", world["guest"]["ticket"]["code"])
        await page.click("#manual-submit")
        result = page.locator("#result")
        await page.wait_for_function("() => document.getElementById('result').dataset.kind !== 'idle'")
        verdict = await result.inner_text()
        assert "Admitted" in verdict or "Already checked in" in verdict, verdict
        assert await result.get_attribute("aria-live") == "assertive"
        assert await result.get_attribute("role") == "status"
        problems += [f"scanner-running: {p}" for p in await axe_problems(page)]
        await shot(page, f"staff-{width}-scanner-verdict")
    finally:
        await ctx.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["fr", "de", "pt", "es"])
async def test_guest_pages_in_other_languages_pass_axe_at_360(world, browser, lang):
    ctx = await browser.new_context(viewport={"width": 360, "height": 800}, locale=lang, bypass_csp=True)
    page = await ctx.new_page()
    try:
        problems = []
        for name, path in guest_pages(world)[:6]:
            await page.goto(world["server"].base_url + path + ("&" if "?" in path else "?") + f"lang={lang}")
            assert await page.get_attribute("html", "lang") == lang
            problems += [f"{lang} {name}: {p}" for p in await axe_problems(page)]
            # Nothing wider than the phone: no sideways scrolling at 360 px in a language with longer words.
            wide = await page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 360, (lang, name, wide)
            await shot(page, f"lang-{lang}-{name}")
    finally:
        await ctx.close()
    assert not problems, "\n".join(problems)


async def test_guest_can_rsvp_with_the_keyboard_alone(world, browser):
    async with world["server"].api() as c:
        # Tomorrow at noon: never on top of the activity running now, whatever the time of day the suite runs.
        start = date.fromisoformat(world["program"]["starts_on"]) + timedelta(days=2)
        r = await c.post(f"/api/programs/{world['program']['id']}/activities", json={
            "kind": "activation", "title": "Keyboard calm", "space_id": world["space"]["id"], "capacity": 5,
            "rsvp_mode": "open", "starts_at": f"{start}T12:00", "ends_at": f"{start}T12:30", "max_guests": 1})
        assert r.status_code == 201, r.text
        a = r.json()
    ctx = await browser.new_context(viewport={"width": 360, "height": 800}, bypass_csp=True)
    page = await ctx.new_page()
    try:
        await page.goto(f"{world['server'].base_url}/a/{a['id']}")
        # The first Tab reaches the skip link, and it is visibly outlined.
        await page.keyboard.press("Tab")
        assert await page.evaluate("() => document.activeElement.className") == "skip"
        await page.keyboard.press("Enter")
        order = []
        for _ in range(40):
            await page.keyboard.press("Tab")
            el = await page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
                return {id: e.id, tag: e.tagName, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)} }""")
            order.append(el["id"] or el["tag"])
            if el["id"] in ("name", "email", "guests"):
                assert el["outline"] != "none" and el["width"] >= 2, el
                await page.keyboard.type({"name": "Key Board", "email": f"kb-{uuid.uuid4().hex[:6]}@example.org", "guests": "1"}[el["id"]])
                if el["id"] == "guests":
                    await page.keyboard.press("Backspace")
                    await page.keyboard.type("1")
            if el["tag"] == "BUTTON":
                async with page.expect_navigation():
                    await page.keyboard.press("Enter")
                break
        assert "/r/" in page.url, order
        assert "Confirmed" in await page.locator("#status").inner_text()
    finally:
        await ctx.close()


async def test_text_at_200_percent_and_reduced_motion(world, browser):
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce", bypass_csp=True)
    page = await ctx.new_page()
    try:
        for name, path in guest_pages(world)[:6]:
            await page.goto(world["server"].base_url + path)
            await page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
            # No sideways scrolling, and no text cut off by a box that kept its old size.
            assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), name
            clipped = await page.evaluate("""() => [...document.querySelectorAll('main *')].filter(e => {
                const s = getComputedStyle(e);
                // Text hidden on purpose for screen readers (a 1 px clipped box) is not text cut off.
                if (e.classList.contains('visually-hidden') || e.clientWidth <= 1) return false;
                return (s.overflow === 'hidden' || s.overflowX === 'hidden') && e.scrollWidth > e.clientWidth + 1 && e.textContent.trim();
            }).map(e => e.tagName + '.' + e.className)""")
            assert not clipped, (name, clipped)
            await shot(page, f"text200-{name}")
        await login(page, world["server"], world["staff"]["email"], PASSWORD)
        await page.goto(world["server"].base_url + "/scan")
        assert await page.evaluate("() => matchMedia('(prefers-reduced-motion: reduce)').matches")
        duration = await page.evaluate("() => getComputedStyle(document.getElementById('result')).transitionDuration")
        assert duration in ("0s", ""), duration
    finally:
        await ctx.close()


def test_axe_is_vendored_with_its_licence():
    folder = Path(__file__).parent / "vendor" / "axe-core"
    assert re.match(r"/\*! axe v4\.", AXE)
    assert "Mozilla Public License" in (folder / "LICENSE").read_text(encoding="utf-8")


async def test_axe_check_finds_a_real_violation(world, browser):
    """The audit is not vacuous: an unlabelled field and grey-on-white text are reported."""
    ctx = await browser.new_context(viewport={"width": 360, "height": 800}, bypass_csp=True)
    page = await ctx.new_page()
    try:
        await page.goto(world["server"].base_url + "/login")
        await page.evaluate("""() => { const i = document.createElement('input'); document.querySelector('main').appendChild(i);
            const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#ccc'; document.querySelector('main').appendChild(p); }""")
        problems = "\n".join(await axe_problems(page))
        assert "label" in problems and "color-contrast" in problems, problems
    finally:
        await ctx.close()


# Every GET route outside /api, /static and /schema is either a page audited above or one of these, with why.
NOT_PAGES = {
    "/health": "JSON for load balancers",
    "/help/sw.js": "the help pages' service worker", "/scan-sw.js": "the scanner's service worker",
    "/help/licence": "the CC BY-SA text, plain text",
    "/r/{rsvp_id:int}/invite.ics": "a calendar file", "/programs/{program_id:int}/calendar.ics": "a calendar file",
    "/feeds/guest/{program_id:int}/{name:str}": "a calendar feed", "/feeds/user/{name:str}": "a calendar feed",
    "/r/{rsvp_id:int}/qr.png": "an image", "/r/{rsvp_id:int}/qr.svg": "an image", "/r/{rsvp_id:int}/ticket.png": "an image",
    "/activities/{activity_id:int}/tickets.pdf": "a PDF", "/programs/{program_id:int}/report.pdf": "a PDF",
    "/reports.pdf": "a PDF", "/programs/{program_id:int}/report.csv": "a CSV file", "/reports.csv": "a CSV file",
}


def _route_of(path: str, routes: set[str]) -> str | None:
    """The app route a concrete path is served by: a route without parameters wins over one with."""
    path = path.split("?", 1)[0]
    if path in routes:
        return path
    for route in sorted(routes):
        pattern = re.sub(r"\{[a-z_]+:int\}", r"[0-9]+", re.sub(r"\{[a-z_]+:str\}", r"[^/]+", re.escape(route).replace(r"\{", "{").replace(r"\}", "}")))
        if re.fullmatch(pattern, path):
            return route
    return None


def test_every_page_of_the_app_is_in_the_axe_audit():
    """A new page fails here until it is added to guest_pages, organizer_pages or staff_pages (or to NOT_PAGES,
    when it is not HTML): compared with the app's own route table."""
    from planner.app import create_app

    routes = {r.path for r in create_app(run_worker=False).routes
              if "GET" in {m for h in getattr(r, "route_handlers", []) for m in getattr(h, "http_methods", ())}
              and not r.path.startswith(("/api/", "/static", "/schema"))}
    one = {"id": 1, "manage_url": "http://x/r/1?token=T", "invite_code": "C"}
    fake = {"program": {"id": 1}, "activity": one, "dinner": one, "invite": one, "guest": one, "waiting": one,
            "space": one, "host": one, "item": one, "link": "L"}
    audited = {_route_of(path, routes) for _name, path in guest_pages(fake) + organizer_pages(fake) + staff_pages(fake)}
    audited |= {"/r/{rsvp_id:int}"}  # the erased page, reached by its form (test_guest_pages_...)
    missing = sorted(routes - audited - set(NOT_PAGES))
    assert not missing, f"pages never audited with axe: {missing}"
    assert not set(NOT_PAGES) - routes, "NOT_PAGES names a route that no longer exists"
    assert None not in audited - {_route_of("/a/987654321", routes)}
