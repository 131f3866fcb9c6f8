"""Inside now: conditional moves of Space.inside, never below zero, refused at capacity unless forced, idempotent by scan id."""
import asyncio

from planner.scheduling.tables import Space
from planner.tickets.tables import PresenceScan


async def counted_space(api, program_id, capacity=10, name="Wellness tent"):
    return await api.space(program_id, name=name, capacity=capacity, counts_presence=True)


async def tap(api, space_id, direction, expect=200, **kw):
    r = await api.post(f"/api/spaces/{space_id}/presence", {"direction": direction, **kw}, expect=expect)
    return r.json()


async def inside(space_id):
    return (await Space.select(Space.inside).where(Space.id == space_id).first())["inside"]


async def test_presence_counts_in_and_out_and_never_below_zero(api, setup):
    s = await counted_space(api, setup["program"]["id"], capacity=10)
    body = await tap(api, s["id"], "in")
    assert {k: body[k] for k in ("inside", "capacity", "warning", "full", "changed")} == \
        {"inside": 1, "capacity": 10, "warning": False, "full": False, "changed": True}
    await tap(api, s["id"], "in")
    assert (await tap(api, s["id"], "out"))["inside"] == 1
    assert (await tap(api, s["id"], "out"))["inside"] == 0
    body = await tap(api, s["id"], "out")
    assert (body["inside"], body["changed"]) == (0, False)
    assert await inside(s["id"]) == 0
    got = (await api.get(f"/api/spaces/{s['id']}/presence", expect=200)).json()
    assert (got["inside"], got["capacity"], got["name"], got["counts_presence"]) == (0, 10, "Wellness tent", True)
    # Every tap is logged, the one that found nobody inside too.
    assert await PresenceScan.count().where(PresenceScan.space == s["id"]) == 5


async def test_presence_warns_from_ninety_percent_and_refuses_in_when_full(api, setup):
    s = await counted_space(api, setup["program"]["id"], capacity=10)
    for _ in range(8):
        body = await tap(api, s["id"], "in")
    assert (body["inside"], body["warning"]) == (8, False)
    body = await tap(api, s["id"], "in")
    assert (body["inside"], body["warning"], body["full"]) == (9, True, False)
    body = await tap(api, s["id"], "in")
    assert (body["inside"], body["warning"], body["full"]) == (10, True, True)
    r = await api.post(f"/api/spaces/{s['id']}/presence", {"direction": "in", "scan_id": "door-a-11"}, expect=409)
    assert r.json()["detail"] == "Wellness tent is full (10 of 10). Let someone out first, or admit anyway."
    assert r.json()["extra"] == {"space_id": s["id"], "name": "Wellness tent", "inside": 10, "capacity": 10,
                                 "warning": True, "full": True, "result": "full"}
    assert await inside(s["id"]) == 10
    # The refused tap was not kept, so the door can send it again, forced.
    assert await PresenceScan.count().where(PresenceScan.scan_id == "door-a-11") == 0
    body = await tap(api, s["id"], "in", scan_id="door-a-11", force=True)
    assert (body["inside"], body["full"]) == (11, True)
    assert await inside(s["id"]) == 11


async def test_presence_same_scan_id_moves_once(api, setup):
    pid = setup["program"]["id"]
    s = await counted_space(api, pid)
    other = await counted_space(api, pid, name="Quiet room")
    first = await tap(api, s["id"], "in", scan_id="tap-1")
    again = await tap(api, s["id"], "in", scan_id="tap-1")
    assert (first["inside"], first["changed"]) == (1, True)
    assert (again["inside"], again["changed"], again["replay"]) == (1, False, True)
    await tap(api, s["id"], "out", scan_id="tap-2")
    again = await tap(api, s["id"], "out", scan_id="tap-2")
    assert (again["inside"], again["replay"]) == (0, True)
    r = await api.post(f"/api/spaces/{other['id']}/presence", {"direction": "in", "scan_id": "tap-1"}, expect=409)
    assert "another space" in r.json()["detail"]
    assert await inside(s["id"]) == 0 and await inside(other["id"]) == 0
    assert await PresenceScan.count() == 2


async def test_presence_refusals_change_nothing(api, setup, client):
    from tests.conftest import Api, make_user

    pid = setup["program"]["id"]
    s = await counted_space(api, pid)
    plain = setup["space"]  # does not count presence
    r = await api.post(f"/api/spaces/{plain['id']}/presence", {"direction": "in"}, expect=409)
    assert "does not count people inside" in r.json()["detail"]
    r = await api.post(f"/api/spaces/{s['id']}/presence", {"direction": "sideways"}, expect=400)
    assert "direction" in r.json()["detail"]  # refused at the boundary or by the rule, naming the field
    r = await api.post(f"/api/spaces/{s['id']}/presence", {"direction": "in", "code": "not-a-ticket"}, expect=400)
    assert r.json()["detail"] == "This code is not a confirmed ticket of this programme."
    await api.post("/api/spaces/999999/presence", {"direction": "in"}, expect=404)
    assert (await client.post(f"/api/spaces/{s['id']}/presence", json={"direction": "in"})).status_code == 401
    assert (await client.get(f"/api/spaces/{s['id']}/presence")).status_code == 401
    await make_user("outsider@example.org", "outsider password", admin=True)
    token = (await client.post("/api/auth/token", json={"email": "outsider@example.org", "password": "outsider password"})).json()["token"]
    outsider = Api(client, token)
    await outsider.post(f"/api/spaces/{s['id']}/presence", {"direction": "in"}, expect=404)
    await outsider.get(f"/api/spaces/{s['id']}/presence", expect=404)
    assert await inside(s["id"]) == 0 and await inside(plain["id"]) == 0
    assert await PresenceScan.count() == 0


async def test_presence_by_staff_with_a_ticket_code(api, setup, client):
    from tests.conftest import Api, make_user

    pid = setup["program"]["id"]
    s = await counted_space(api, pid)
    a = await api.activity(pid, setup["space"]["id"])
    ticket = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()["ticket"]
    await make_user("door@example.org", "door staff password", admin=False)
    await api.post(f"/api/programs/{pid}/members", {"email": "door@example.org", "role": "staff"}, expect=201)
    token = (await client.post("/api/auth/token", json={"email": "door@example.org", "password": "door staff password"})).json()["token"]
    door = Api(client, token)
    r = await client.post(f"/api/spaces/{s['id']}/presence", json={"direction": "in", "code": ticket["code"]},
                          headers={**door.h, "x-device": "tent door"})
    assert r.status_code == 200 and r.json()["inside"] == 1
    log = await PresenceScan.select().first()
    assert (log["direction"], log["device"], log["space"]) == ("in", "tent door", s["id"])


async def test_concurrent_presence_taps_respect_capacity_and_zero(api, setup):
    s = await counted_space(api, setup["program"]["id"], capacity=10)
    ins = await asyncio.gather(*[api.post(f"/api/spaces/{s['id']}/presence", {"direction": "in"}) for _ in range(25)])
    assert sorted(r.status_code for r in ins) == [200] * 10 + [409] * 15
    assert await inside(s["id"]) == 10
    outs = await asyncio.gather(*[api.post(f"/api/spaces/{s['id']}/presence", {"direction": "out"}) for _ in range(30)])
    assert all(r.status_code == 200 for r in outs)
    assert sum(r.json()["changed"] for r in outs) == 10
    assert min(r.json()["inside"] for r in outs) == 0
    assert await inside(s["id"]) == 0
    # The same tap sent from several retries at once still moves once.
    same = await asyncio.gather(*[api.post(f"/api/spaces/{s['id']}/presence", {"direction": "in", "scan_id": "retry-1"}) for _ in range(8)])
    assert all(r.status_code == 200 for r in same)
    assert await inside(s["id"]) == 1
    assert await PresenceScan.count().where(PresenceScan.scan_id == "retry-1") == 1


async def login_page(client, email, password):
    await client.get("/login")
    csrf = client.cookies.get("csrftoken")
    r = await client.post("/login", data={"email": email, "password": password, "next": "/", "_csrf_token": csrf}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    return client.cookies.get("csrftoken")


async def test_presence_page_counts_without_javascript(api, setup, client):
    s = await counted_space(api, setup["program"]["id"], capacity=2)
    csrf = await login_page(client, "organizer@example.org", "correct horse battery")
    page = await client.get(f"/spaces/{s['id']}/presence", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "/static/js/presence.js" in page.text and 'name="direction" value="in"' in page.text
    form = {"_csrf_token": csrf, "scan_id": "form-1", "direction": "in"}
    r = await client.post(f"/spaces/{s['id']}/presence", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/spaces/{s['id']}/presence?m=in"
    # The same form sent twice (a double tap) counts once.
    await client.post(f"/spaces/{s['id']}/presence", data=form, follow_redirects=False)
    assert await inside(s["id"]) == 1
    await client.post(f"/spaces/{s['id']}/presence", data={**form, "scan_id": "form-2"}, follow_redirects=False)
    full = await client.post(f"/spaces/{s['id']}/presence", data={**form, "scan_id": "form-3"}, headers={"accept": "text/html"})
    assert full.status_code == 409
    assert "Let in anyway" in full.text and 'value="form-3"' in full.text
    forced = await client.post(f"/spaces/{s['id']}/presence", data={**form, "scan_id": "form-3", "force": "1"}, follow_redirects=False)
    assert forced.status_code == 303
    assert await inside(s["id"]) == 3
    # Without the CSRF token the form is refused.
    r = await client.post(f"/spaces/{s['id']}/presence", data={"direction": "out", "scan_id": "form-4"})
    assert r.status_code == 403
    assert await inside(s["id"]) == 3


async def test_presence_page_needs_login(api, setup, client):
    s = await counted_space(api, setup["program"]["id"])
    r = await client.get(f"/spaces/{s['id']}/presence", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")
