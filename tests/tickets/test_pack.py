"""The scanner's JSON: the offline pack (hashed tickets, never codes), the activities a user may scan, counts,
and the /scan page with its service worker."""
from __future__ import annotations

import base64
import gzip
import hashlib
import secrets
import time
from datetime import datetime, timedelta, timezone

import msgspec

from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot
from planner.tickets.pack import build_pack, code_hash, short_name
from tests.conftest import make_user
from tests.tickets.test_checkin_api import add_staff, rsvp, running_now, token_for


def test_code_hash_is_truncated_sha256_base64url():
    code = "kS0m3T1ck3tC0d3xyzAB"
    expected = base64.urlsafe_b64encode(hashlib.sha256(code.encode()).digest()[:12]).rstrip(b"=").decode()
    assert code_hash(code) == expected and len(expected) == 16
    assert code_hash(f"  {code}\n") == expected  # the server strips a scanned code the same way


def test_short_name_keeps_the_first_name_and_an_initial():
    assert short_name("Sam Rivera") == "Sam R."
    assert short_name("Zoë  van der Berg") == "Zoë B."
    assert short_name("Prince") == "Prince"
    assert short_name("") == ""


async def test_pack_of_an_activity_holds_hashes_names_parties_and_checkins(api, client):
    s = await running_now(api, max_guests=3)
    staff = await add_staff(api, client, s["program"]["id"])
    t1 = await rsvp(client, s["activity"]["id"], 1, guests=2)
    t2 = await rsvp(client, s["activity"]["id"], 2)
    cancelled = await rsvp(client, s["activity"]["id"], 3)
    await client.post(f"/api/rsvps/{cancelled['id']}/cancel", params={"token": cancelled["manage_url"].split("token=")[1]})
    await staff.post("/api/checkins", {"code": t2["ticket"]["code"], "device": "Gate 2"}, expect=200)

    r = await staff.get("/api/scanner/pack", params={"activity_id": s["activity"]["id"]}, expect=200)
    assert r.headers["cache-control"].startswith("private")
    for t in (t1, t2, cancelled):
        assert t["ticket"]["code"] not in r.text
    body = r.json()
    assert body["version"] == 1 and body["hash"] == {"algorithm": "SHA-256", "bytes": 12, "encoding": "base64url"}
    assert body["fields"] == ["hash", "name", "party", "slot"]
    slot = s["activity"]["slots"][0]["id"]
    assert body["tickets"] == [[code_hash(t1["ticket"]["code"]), "Guest 1.", 3, slot],
                               [code_hash(t2["ticket"]["code"]), "Guest 2.", 1, slot]]
    [(index, checked_slot, at, device)] = body["checkins"]
    assert (index, checked_slot, device) == (1, slot, "Gate 2")
    assert abs(at - time.time()) < 120
    [a] = body["activities"]
    assert a["id"] == s["activity"]["id"] and a["title"] == "Breathwork" and a["space"]["name"] == "Wellness tent"
    assert [x["id"] for x in a["slots"]] == [slot] and a["cancelled"] is False and a["kit"] is None
    assert body["programs"] == [{"id": s["program"]["id"], "name": s["program"]["name"], "timezone": "Europe/Berlin"}]
    assert body["grace_minutes"] == 120


async def test_pack_of_a_programme_covers_todays_activities_only(api, client):
    s = await running_now(api)
    other = await running_now(api, title="Sound bath", space_name="Studio B", program=s["program"])
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Berlin")).date()
    later = await api.activity(s["program"]["id"], s["space"]["id"], title="Tomorrow's yoga",
                               starts_at=f"{tomorrow}T12:00", ends_at=f"{tomorrow}T13:00")
    staff = await add_staff(api, client, s["program"]["id"])
    await rsvp(client, s["activity"]["id"], 1)
    await rsvp(client, other["activity"]["id"], 2)
    await rsvp(client, later["id"], 3)
    body = (await staff.get("/api/scanner/pack", params={"program_id": s["program"]["id"]}, expect=200)).json()
    assert sorted(a["title"] for a in body["activities"]) == ["Breathwork", "Sound bath"]
    assert len(body["tickets"]) == 2
    body = (await staff.get("/api/scanner/pack", params={"program_id": s["program"]["id"], "day": tomorrow.isoformat()}, expect=200)).json()
    assert [a["title"] for a in body["activities"]] == ["Tomorrow's yoga"] and body["day"] == tomorrow.isoformat()


async def test_pack_is_gzipped_and_answers_304_when_unchanged(api, client):
    s = await running_now(api)
    staff = await add_staff(api, client, s["program"]["id"])
    await rsvp(client, s["activity"]["id"], 1)
    url = f"/api/scanner/pack?activity_id={s['activity']['id']}"
    r = await client.get(url, headers={**staff.h, "accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    etag = r.headers["etag"]
    r2 = await client.get(url, headers={**staff.h, "if-none-match": etag})
    assert r2.status_code == 304 and r2.content == b""
    t = await rsvp(client, s["activity"]["id"], 2)
    r3 = await client.get(url, headers={**staff.h, "if-none-match": etag})
    assert r3.status_code == 200 and r3.headers["etag"] != etag
    assert code_hash(t["ticket"]["code"]) in r3.text


async def test_pack_status_and_activities_need_a_scanning_role(api, client):
    s = await running_now(api)
    aid, pid = s["activity"]["id"], s["program"]["id"]
    for url in (f"/api/scanner/pack?activity_id={aid}", f"/api/scanner/pack?program_id={pid}",
                f"/api/scanner/status?activity_id={aid}", "/api/scanner/activities"):
        assert (await client.get(url)).status_code == 401, url
    elsewhere = await api.program(name="Another festival")
    outsider = await add_staff(api, client, elsewhere["id"], email="outsider@example.org")
    for url in (f"/api/scanner/pack?activity_id={aid}", f"/api/scanner/pack?program_id={pid}", f"/api/scanner/status?activity_id={aid}"):
        r = await outsider.get(url)
        assert r.status_code == 404, (url, r.text)  # a foreign programme looks like an unknown one
    assert (await outsider.get("/api/scanner/activities", expect=200)).json()["activities"] == []
    await make_user("nobody@example.org", admin=False)
    nobody = await token_for(client, "nobody@example.org")
    empty = (await nobody.get("/api/scanner/activities", expect=200)).json()
    assert (empty["programs"], empty["spaces"], empty["activities"]) == ([], [], [])
    assert (await nobody.get(f"/api/scanner/pack?activity_id={aid}")).status_code == 404
    assert (await outsider.get("/api/scanner/pack")).status_code == 400


async def test_scanner_activities_and_status_count_people(api, client):
    s = await running_now(api, max_guests=2)
    staff = await add_staff(api, client, s["program"]["id"])
    t1 = await rsvp(client, s["activity"]["id"], 1, guests=2)
    await rsvp(client, s["activity"]["id"], 2)
    await staff.post("/api/checkins", {"code": t1["ticket"]["code"]}, expect=200)
    body = (await staff.get("/api/scanner/activities", expect=200)).json()
    [p] = body["programs"]
    assert p["id"] == s["program"]["id"] and p["role"] == "staff" and p["timezone"] == "Europe/Berlin"
    assert body["spaces"] == [{"id": s["space"]["id"], "name": "Wellness tent", "program_id": p["id"]}]
    [a] = body["activities"]
    assert (a["checked_in"], a["expected"]) == (3, 4)
    assert [(x["checked_in"], x["expected"]) for x in a["slots"]] == [(3, 4)]
    st = (await staff.get("/api/scanner/status", params={"activity_id": a["id"]}, expect=200)).json()
    assert (st["activity_id"], st["checked_in"], st["expected"]) == (a["id"], 3, 4)
    assert st["slots"] == [{"id": a["slots"][0]["id"], "checked_in": 3, "expected": 4}]


async def test_residency_expects_every_guest_on_each_day(api, client):
    s = await running_now(api)
    today = datetime.fromisoformat(s["activity"]["starts_at"]).date()
    res = await api.activity(s["program"]["id"], s["space"]["id"], kind="residency", title="Studio residency", rsvp_mode="open",
                             starts_at=f"{today - timedelta(days=1)}T00:05", ends_at=f"{today + timedelta(days=1)}T00:20")
    staff = await add_staff(api, client, s["program"]["id"])
    await rsvp(client, res["id"], 1)
    st = (await staff.get("/api/scanner/status", params={"activity_id": res["id"]}, expect=200)).json()
    assert [x["expected"] for x in st["slots"]] == [1, 1, 1] and st["expected"] == 3


async def test_scan_page_needs_a_login_and_serves_its_worker(api, client):
    r = await client.get("/scan", headers={"accept": "text/html"})
    assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")
    w = await client.get("/scan-sw.js")
    assert w.status_code == 200
    assert w.headers["content-type"].startswith("text/javascript")
    assert "__VERSION__" not in w.text and "/static/js/scanner/main.js" in w.text and "/static/js/scanner/pack.js" in w.text


async def test_scan_page_renders_for_staff(api, client):
    s = await running_now(api)
    await add_staff(api, client, s["program"]["id"])
    r = await client.post("/login", data={"email": "staff@example.org", "password": "correct horse battery", "next": "/scan"},
                          headers={"x-csrftoken": await _csrf(client)})
    assert r.status_code == 303, r.text
    page = await client.get("/scan", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert 'id="scanner-data"' in page.text and "Breathwork" in page.text
    assert '<script type="module" src="/static/js/scanner/main.js">' in page.text


async def _csrf(client) -> str:
    await client.get("/login")
    return client.cookies.get("csrftoken", "")


async def test_pack_of_10000_tickets_stays_small(api, client, record_property):
    s = await running_now(api, capacity=20000)
    a, slot = s["activity"], s["activity"]["slots"][0]["id"]
    first = ["Sam", "Alex", "Jordan", "María", "Chen", "Fatima", "Oluwaseun", "Zoë", "Kai", "Priya", "Nikolai", "Aroha"]
    last = ["Rivera", "Okafor", "Nguyen", "Schmidt", "Kowalski", "Haddad", "Tanaka", "Ó Briain", "Silva", "Smith"]
    rows = [Rsvp(program=s["program"]["id"], activity=a["id"], slot=slot, name=f"{first[i % 12]} {last[i % 10]}",
                 email=f"g{i}@example.org", guests=i % 3, status="confirmed", answers={}, ticket_code=secrets.token_urlsafe(16))
            for i in range(10_000)]
    started = time.perf_counter()
    for i in range(0, len(rows), 500):
        await Rsvp.insert(*rows[i:i + 500])
    inserted = time.perf_counter() - started
    # Seeded in bulk, so the slot's seat counter is set to match the rows, as the app keeps it.
    await Slot.update({Slot.confirmed: sum(1 + r.guests for r in rows)}).where(Slot.id == slot)
    started = time.perf_counter()
    pack = await build_pack([a["id"]], now=datetime.now(timezone.utc))
    built = time.perf_counter() - started
    raw = msgspec.json.encode(pack)
    packed = gzip.compress(raw, compresslevel=6)
    assert len(pack["tickets"]) == 10_000
    print(f"\npack of 10,000 tickets: {len(raw):,} bytes raw, {len(packed):,} bytes gzipped; "
          f"built in {built:.2f} s (insert {inserted:.2f} s)")
    record_property("pack_raw_bytes", len(raw))
    record_property("pack_gzip_bytes", len(packed))
    assert len(packed) < 400_000
    assert len(raw) < 600_000
