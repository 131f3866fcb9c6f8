import asyncio

from planner.outbox.tables import OutboxMessage
from planner.rsvps.seats import counters_match_rows
from planner.rsvps.tables import Invitation, Rsvp
from planner.scheduling.tables import Slot


async def rsvp(client, activity_id, i, expect=None, **kw):
    body = {"name": f"Guest {i}", "email": f"guest{i}@example.org", **kw}
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json=body)
    if expect is not None:
        assert r.status_code == expect, r.text
    return r


async def test_open_rsvp_confirms_with_ticket_and_links(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=2)
    r = await rsvp(client, a["id"], 1, expect=201)
    body = r.json()
    assert body["status"] == "confirmed"
    assert "?token=" in body["manage_url"] and body["invite_ics_url"]
    assert len(body["ticket"]["code"]) >= 22  # 128 bits, url-safe
    assert body["ticket"]["qr_png_url"] and body["ticket"]["qr_svg_url"]
    # The guest's own page; a repeat answers nothing about the RSVP (see tests/rsvps/test_repeats.py).
    token = body["manage_url"].split("token=")[1]
    got = await client.get(f"/api/rsvps/{body['id']}", params={"token": token})
    assert got.status_code == 200 and got.json()["status"] == "confirmed"
    again = await rsvp(client, a["id"], 1, expect=202)
    assert "id" not in again.json()
    assert await Rsvp.count() == 1
    assert await OutboxMessage.count().where(OutboxMessage.kind == "confirmed") == 1


async def test_full_activity_waitlists_with_position(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1)
    await rsvp(client, a["id"], 1, expect=201)
    w1 = (await rsvp(client, a["id"], 2, expect=201)).json()
    w2 = (await rsvp(client, a["id"], 3, expect=201)).json()
    assert (w1["status"], w1["waitlist_position"]) == ("waitlisted", 1)
    assert (w2["status"], w2["waitlist_position"]) == ("waitlisted", 2)
    assert "ticket" not in w1


async def test_bad_input_is_refused_and_stores_nothing(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, capacity=5, max_guests=1)
    cases = [
        ({"name": "A", "email": "not-an-email"}, 400, "email"),
        ({"name": "A", "email": "a@example.org", "guests": 3}, 400, "plus-one"),
        ({"name": "", "email": "a@example.org"}, 400, "name"),
    ]
    for body, code, word in cases:
        r = await client.post(f"/api/activities/{a['id']}/rsvps", json=body)
        assert r.status_code == code, r.text
        assert word in r.json()["detail"].lower()
    # Unknown activity, cancelled activity, closed deadline.
    assert (await client.post("/api/activities/999999/rsvps", json={"name": "A", "email": "a@example.org"})).status_code == 404
    c = await api.activity(pid, sid, title="Cancelled one", starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    await api.post(f"/api/activities/{c['id']}/cancel", {}, expect=200)
    r = await client.post(f"/api/activities/{c['id']}/rsvps", json={"name": "A", "email": "a@example.org"})
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    d = await api.activity(pid, sid, title="Closed", starts_at="2027-07-04T10:00", ends_at="2027-07-04T11:00", rsvp_deadline="2020-01-01T00:00")
    r = await client.post(f"/api/activities/{d['id']}/rsvps", json={"name": "A", "email": "a@example.org"})
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    # A dinner without or with an unknown invitation code.
    dinner = await api.activity(pid, sid, kind="dinner", title="Dinner", rsvp_mode="invite", starts_at="2027-07-05T19:00", ends_at="2027-07-05T21:00")
    r = await client.post(f"/api/activities/{dinner['id']}/rsvps", json={"name": "A", "email": "a@example.org"})
    assert r.status_code == 403
    r = await client.post(f"/api/activities/{dinner['id']}/rsvps", json={"name": "A", "email": "a@example.org", "invite_code": "nope"})
    assert r.status_code == 404 and "invitation" in r.json()["detail"]
    # Wrong token on the guest's page and on cancel.
    ok = (await rsvp(client, a["id"], 7, expect=201)).json()
    assert (await client.get(f"/api/rsvps/{ok['id']}", params={"token": "wrong"})).status_code == 404
    assert (await client.post(f"/api/rsvps/{ok['id']}/cancel", params={"token": "wrong"})).status_code == 404
    assert await Rsvp.count() == 1
    assert (await Rsvp.select(Rsvp.status).first())["status"] == "confirmed"


async def test_plus_ones_count_against_capacity(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="dinner", rsvp_mode="open", capacity=4, max_guests=2,
                           starts_at="2027-07-02T19:00", ends_at="2027-07-02T21:00")
    assert (await rsvp(client, a["id"], 1, guests=2, expect=201)).json()["status"] == "confirmed"
    assert (await rsvp(client, a["id"], 2, guests=2, expect=201)).json()["status"] == "waitlisted"
    assert (await rsvp(client, a["id"], 3, guests=0, expect=201)).json()["status"] == "confirmed"
    slot = await Slot.select().where(Slot.activity == a["id"]).first()
    assert slot["confirmed"] == 4
    assert await counters_match_rows(slot["id"])


async def test_150_concurrent_invited_rsvps_for_a_12_seat_dinner(api, setup, client):
    dinner = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="dinner", title="Songwriter supper",
                                rsvp_mode="invite", capacity=12, starts_at="2027-07-03T19:00", ends_at="2027-07-03T22:00")
    csv = "name,email\n" + "\n".join(f"Guest {i},guest{i}@example.org" for i in range(150))
    report = (await api.post(f"/api/activities/{dinner['id']}/invitations/csv", {"csv": csv}, expect=200)).json()
    assert report["created"] == 150 and report["problems"] == []
    codes = {i["email"]: i["code"] for i in await Invitation.select(Invitation.email, Invitation.code)}

    results = await asyncio.gather(*[
        rsvp(client, dinner["id"], i, invite_code=codes[f"guest{i}@example.org"]) for i in range(150)
    ])
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201][:3]
    bodies = [r.json() for r in results]
    confirmed = [b for b in bodies if b["status"] == "confirmed"]
    positions = sorted(b["waitlist_position"] for b in bodies if b["status"] == "waitlisted")
    assert len(confirmed) == 12
    assert positions == list(range(1, 139))
    slot = await Slot.select().where(Slot.activity == dinner["id"]).first()
    assert (slot["confirmed"], slot["waiting"]) == (12, 138)
    assert await counters_match_rows(slot["id"])

    # Three concurrent cancellations promote exactly the first three in line.
    line = sorted((b for b in bodies if b["status"] == "waitlisted"), key=lambda b: b["waitlist_position"])
    cancels = await asyncio.gather(*[
        client.post(f"/api/rsvps/{b['id']}/cancel", params={"token": b["manage_url"].split("token=")[1]}) for b in confirmed[:3]
    ])
    assert all(c.status_code == 200 and c.json()["status"] == "cancelled" for c in cancels)
    promoted = {r["id"] for r in await Rsvp.select(Rsvp.id).where((Rsvp.activity == dinner["id"]) & (Rsvp.status == "confirmed"))}
    assert {b["id"] for b in line[:3]} <= promoted
    assert {b["id"] for b in line[3:]}.isdisjoint(promoted)
    assert len(promoted) == 12
    nxt = await client.get(f"/api/rsvps/{line[3]['id']}", params={"token": line[3]["manage_url"].split("token=")[1]})
    assert nxt.json()["waitlist_position"] == 1
    assert await counters_match_rows(slot["id"])
    assert await OutboxMessage.count().where(OutboxMessage.kind == "promoted") == 3


async def test_concurrent_approvals_never_exceed_capacity(api, setup, client):
    res = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="residency", title="Residency", rsvp_mode="apply",
                             capacity=5, starts_at="2027-07-02T10:00", ends_at="2027-07-04T17:00")
    apps = [(await rsvp(client, res["id"], i, expect=201)).json() for i in range(20)]
    assert all(a["status"] == "applied" for a in apps)
    results = await asyncio.gather(*[api.post(f"/api/rsvps/{a['id']}/approve") for a in apps])
    statuses = [r.json()["status"] for r in results]
    assert statuses.count("confirmed") == 5 and statuses.count("waitlisted") == 15
    slot = await Slot.select().where(Slot.activity == res["id"]).order_by(Slot.starts_at).first()
    assert slot["confirmed"] == 5 and await counters_match_rows(slot["id"])


async def test_offer_hold_passes_on_when_it_expires(api, setup, client):
    from datetime import timedelta

    from planner.clock import utcnow
    from planner.rsvps.waitlist import expire_offers

    d = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="dinner", rsvp_mode="open", capacity=1,
                           promotion="offer", hold_hours=2, starts_at="2027-07-02T19:00", ends_at="2027-07-02T21:00")
    first = (await rsvp(client, d["id"], 1, expect=201)).json()
    second = (await rsvp(client, d["id"], 2, expect=201)).json()
    third = (await rsvp(client, d["id"], 3, expect=201)).json()
    tok = lambda b: b["manage_url"].split("token=")[1]  # noqa: E731
    await client.post(f"/api/rsvps/{first['id']}/cancel", params={"token": tok(first)})
    got = (await client.get(f"/api/rsvps/{second['id']}", params={"token": tok(second)})).json()
    assert got["status"] == "offered" and "offer_expires_at" in got
    # Nobody else can take the held seat.
    late = (await rsvp(client, d["id"], 4, expect=201)).json()
    assert late["status"] == "waitlisted"
    await expire_offers(now=utcnow() + timedelta(hours=3))
    assert (await client.get(f"/api/rsvps/{second['id']}", params={"token": tok(second)})).json()["status"] == "declined"
    got3 = (await client.get(f"/api/rsvps/{third['id']}", params={"token": tok(third)})).json()
    assert got3["status"] == "offered"
    r = await client.post(f"/api/rsvps/{third['id']}/accept", params={"token": tok(third)})
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    slot = await Slot.select().where(Slot.activity == d["id"]).first()
    assert slot["confirmed"] == 1 and await counters_match_rows(slot["id"])


async def test_reorder_waitlist_needs_a_reason(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1)
    await rsvp(client, a["id"], 0, expect=201)
    w = [(await rsvp(client, a["id"], i, expect=201)).json() for i in range(1, 4)]
    r = await api.post(f"/api/rsvps/{w[2]['id']}/reorder", {"position": 1, "reason": ""})
    assert r.status_code == 400
    r = await api.post(f"/api/rsvps/{w[2]['id']}/reorder", {"position": 1, "reason": "Performing right after"}, expect=200)
    assert [x["id"] for x in r.json()] == [w[2]["id"], w[0]["id"], w[1]["id"]]
    assert [x["waitlist_position"] for x in r.json()] == [1, 2, 3]


async def test_sensitive_answers_only_when_asked(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3)
    q1 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Access needs", "sensitive": True}, expect=201)).json()
    q2 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Instrument", "kind": "choice", "choices": ["guitar", "keys"]}, expect=201)).json()
    await rsvp(client, a["id"], 1, answers={str(q1["id"]): "step-free access", str(q2["id"]): "keys"}, expect=201)
    bad = await rsvp(client, a["id"], 2, answers={str(q2["id"]): "drums"})
    assert bad.status_code == 400
    plain = (await api.get(f"/api/activities/{a['id']}/rsvps", expect=200)).json()
    assert plain[0]["answers"] == {str(q2["id"]): "keys"}
    full = (await api.get(f"/api/activities/{a['id']}/rsvps", params={"sensitive": "true"}, expect=200)).json()
    assert full[0]["answers"][str(q1["id"])] == "step-free access"
    csv_plain = (await api.get(f"/api/activities/{a['id']}/rsvps.csv", expect=200)).text
    assert "step-free" not in csv_plain and "keys" in csv_plain
    csv_full = (await api.get(f"/api/activities/{a['id']}/rsvps.csv", params={"sensitive": "true"}, expect=200)).text
    assert "step-free" in csv_full
    # Guests' answers are not for anonymous eyes or staff.
    assert (await client.get(f"/api/activities/{a['id']}/rsvps")).status_code == 401


async def test_invitation_csv_reports_bad_rows_and_duplicates(api, setup):
    d = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="dinner", rsvp_mode="invite", capacity=12,
                           starts_at="2027-07-02T19:00", ends_at="2027-07-02T21:00")
    csv = "name,email\nAda,ada@example.org\nBad,not-an-email\nAda again,ada@example.org\nOnlyname\n"
    rep = (await api.post(f"/api/activities/{d['id']}/invitations/csv", {"csv": csv}, expect=200)).json()
    assert rep["created"] == 1
    assert [p["line"] for p in rep["problems"]] == [3, 4, 5]
    one = await api.post(f"/api/activities/{d['id']}/invitations", {"name": "Bo", "email": "bo@example.org"}, expect=201)
    assert one.json()["invite_code"] and one.json()["url"].endswith(one.json()["invite_code"])
    assert await Invitation.count() == 2


async def test_guest_changes_plus_ones_within_capacity(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3, max_guests=2)
    b = (await rsvp(client, a["id"], 1, expect=201)).json()
    tok = b["manage_url"].split("token=")[1]
    r = await client.patch(f"/api/rsvps/{b['id']}", params={"token": tok}, json={"guests": 2})
    assert r.status_code == 200 and r.json()["party"] == 3
    await rsvp(client, a["id"], 2, expect=201)  # waitlisted: full
    r = await client.patch(f"/api/rsvps/{b['id']}", params={"token": tok}, json={"guests": 1})
    assert r.status_code == 200
    slot = await Slot.select().where(Slot.activity == a["id"]).first()
    assert slot["confirmed"] == 3 and slot["waiting"] == 0  # guest 2 promoted into the freed seat
    assert await counters_match_rows(slot["id"])


async def test_concurrent_open_rsvps_and_repeats_never_oversell(api, setup, client):
    """The one-statement path (PostgreSQL) and the locked path (SQLite) give the same exact answer."""
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=12, max_guests=1)
    # 100 people, 20 of them sending their RSVP twice at the same moment, some with a plus-one.
    calls = [rsvp(client, a["id"], i, guests=i % 2) for i in range(100)] + [rsvp(client, a["id"], i, guests=i % 2) for i in range(20)]
    results = await asyncio.gather(*calls)
    assert all(r.status_code in (201, 202) for r in results), [r.text for r in results if r.status_code >= 300][:3]
    assert sum(r.status_code == 202 for r in results) == 20
    assert await Rsvp.count().where(Rsvp.activity == a["id"]) == 100
    slot = await Slot.select().where(Slot.activity == a["id"]).first()
    assert slot["confirmed"] <= 12 and slot["confirmed"] >= 11  # a party of 2 may not fit the last seat
    assert await counters_match_rows(slot["id"])
    line = await Rsvp.select(Rsvp.id).where((Rsvp.activity == a["id"]) & (Rsvp.status == "waitlisted")).order_by(Rsvp.queue_seq)
    positions = sorted(r.json().get("waitlist_position") for r in results if r.json()["status"] == "waitlisted")
    assert positions == list(range(1, len(line) + 1))


async def test_organizer_moves_a_guest_to_another_slot_through_the_page(api, setup, client):
    import re

    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Massage", starts_at="2027-07-02T10:00",
                           ends_at="2027-07-02T11:00", capacity=1, slot_minutes=20)
    first, second = a["slots"][0]["id"], a["slots"][1]["id"]
    g = (await rsvp(client, a["id"], 1, slot_id=first, expect=201)).json()
    await client.get("/login")
    csrf = client.cookies.get("csrftoken")
    await client.post("/login", data={"email": "organizer@example.org", "password": "correct horse battery", "next": "/", "_csrf_token": csrf})
    page = await client.get(f"/activities/{a['id']}/manage")
    assert "Move someone to another time" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post(f"/activities/{a['id']}/manage/move", data={"_csrf_token": token, "rsvp_id": g["id"], "slot_id": second})
    assert r.status_code in (200, 303)
    moved = await Rsvp.select(Rsvp.slot).where(Rsvp.id == g["id"]).first()
    assert moved["slot"] == second
    counts = {s["id"]: s["confirmed"] for s in await Slot.select(Slot.id, Slot.confirmed).where(Slot.activity == a["id"])}
    assert counts[first] == 0 and counts[second] == 1
