"""The check-in API through HTTP on a real database: one admission per ticket and slot, idempotent
replays, the earliest offline scan wins, refusals with their reasons, and the ticket's QR files."""
from __future__ import annotations

import asyncio
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image

from planner.tickets.tables import Checkin, ScanConflict
from tests.conftest import Api, make_user

TZ = "Europe/Berlin"
PASSWORD = "correct horse battery"


async def token_for(client, email: str) -> Api:
    r = await client.post("/api/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return Api(client, r.json()["token"])


async def add_staff(api: Api, client, program_id: int, email: str = "staff@example.org") -> Api:
    await make_user(email, admin=False)
    await api.post(f"/api/programs/{program_id}/members", {"email": email, "role": "staff"}, expect=201)
    return await token_for(client, email)


def _local(dt: datetime) -> str:
    return dt.astimezone(ZoneInfo(TZ)).replace(tzinfo=None).isoformat(timespec="minutes")


async def running_now(api: Api, *, title="Breathwork", capacity=60, space_name="Wellness tent", program=None, **kw) -> dict:
    """A programme around today with an activity that started 30 minutes ago and ends in an hour:
    scans made "a few minutes ago" are then real past times inside the session."""
    now = datetime.now(timezone.utc)
    today = now.astimezone(ZoneInfo(TZ)).date()
    if program is None:
        program = await api.program(timezone=TZ, country="DE", starts_on=(today - timedelta(days=1)).isoformat(),
                                    ends_on=(today + timedelta(days=1)).isoformat())
    space = await api.space(program["id"], name=space_name)
    activity = await api.activity(program["id"], space["id"], title=title, capacity=capacity,
                                  starts_at=_local(now - timedelta(minutes=30)), ends_at=_local(now + timedelta(minutes=60)), **kw)
    return {"program": program, "space": space, "activity": activity, "now": now}


async def rsvp(client, activity_id: int, n: int = 0, **kw) -> dict:
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": f"Guest {n}", "email": f"guest{n}@example.org", **kw})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "confirmed", body
    return body


@pytest.fixture
async def scene(api, client) -> dict:
    s = await running_now(api)
    s["staff"] = await add_staff(api, client, s["program"]["id"])
    s["ticket"] = await rsvp(client, s["activity"]["id"], 1, guests=0)
    return s


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


async def test_checkin_50_concurrent_scans_of_one_ticket_admit_exactly_once(scene):
    code = scene["ticket"]["ticket"]["code"]
    staff = scene["staff"]
    responses = await asyncio.gather(*[
        staff.client.post("/api/checkins", json={"code": code}, headers={**staff.h, "x-device": f"gate-{i}"}) for i in range(50)
    ])
    assert [r.status_code for r in responses] == [200] * 50
    results = [r.json()["result"] for r in responses]
    assert results.count("admitted") == 1
    assert results.count("already_checked_in") == 49
    assert await Checkin.count() == 1
    row = await Checkin.select().first()
    winner = next(r.json() for r in responses if r.json()["result"] == "admitted")
    # Every refusal names the one admission: its time and its device.
    for r in responses:
        body = r.json()
        if body["result"] == "already_checked_in":
            assert body["device"] == row["device"]
            assert datetime.fromisoformat(body["checked_in_at"]) == row["checked_in_at"]
            assert f"by {row['device']}" in body["message"]
    assert winner["guest"] == {"name": "Guest 1"} and winner["party"] == 1


async def test_checkin_batch_replayed_admits_nothing_the_second_time(scene, client):
    staff, activity = scene["staff"], scene["activity"]
    others = [await rsvp(client, activity["id"], n) for n in range(2, 5)]
    now = scene["now"]
    scans = [{"code": t["ticket"]["code"], "scan_id": str(uuid.uuid4()), "scanned_at": _iso(now - timedelta(minutes=10 - i))}
             for i, t in enumerate([scene["ticket"], *others])]
    # The same ticket scanned twice on this device, and a code that is not a ticket.
    scans.append({"code": scene["ticket"]["ticket"]["code"], "scan_id": str(uuid.uuid4()), "scanned_at": _iso(now - timedelta(minutes=2))})
    scans.append({"code": "not-a-ticket", "scan_id": str(uuid.uuid4()), "scanned_at": _iso(now - timedelta(minutes=1))})
    first = (await staff.post("/api/checkins/batch", {"scans": scans, "device": "door"}, expect=200)).json()["results"]
    assert [r["result"] for r in first] == ["admitted"] * 4 + ["already_checked_in", "invalid"]
    assert [r.get("scan_id") for r in first[:5]] == [s["scan_id"] for s in scans[:5]]
    rows_before = await Checkin.select().order_by(Checkin.id)
    assert len(rows_before) == 4 and all(r["online"] is False and r["device"] == "door" for r in rows_before)

    second = (await staff.post("/api/checkins/batch", {"scans": scans, "device": "door"}, expect=200)).json()["results"]
    assert [r["result"] for r in second] == [r["result"] for r in first]
    assert [r.get("checked_in_at") for r in second] == [r.get("checked_in_at") for r in first]
    assert await Checkin.select().order_by(Checkin.id) == rows_before
    assert await ScanConflict.count() == 0


async def test_checkin_two_devices_offline_the_earlier_scan_wins(scene):
    staff, code, now = scene["staff"], scene["ticket"]["ticket"]["code"], scene["now"]
    at_a, at_b = now - timedelta(minutes=14), now - timedelta(minutes=10)  # "10:01" and "10:05"
    b = (await staff.post("/api/checkins/batch", {"device": "B", "scans": [
        {"code": code, "scan_id": "scan-b", "scanned_at": _iso(at_b)}]}, expect=200)).json()["results"][0]
    assert b["result"] == "admitted"
    a = (await staff.post("/api/checkins/batch", {"device": "A", "scans": [
        {"code": code, "scan_id": "scan-a", "scanned_at": _iso(at_a)}]}, expect=200)).json()["results"][0]
    assert a["result"] == "admitted"
    assert a["superseded"]["device"] == "B"

    rows = await Checkin.select()
    assert len(rows) == 1
    assert rows[0]["device"] == "A" and rows[0]["scan_id"] == "scan-a"
    assert rows[0]["checked_in_at"] == at_a.replace(microsecond=0)
    conflicts = await ScanConflict.select()
    assert len(conflicts) == 1
    assert conflicts[0]["checkin"] == rows[0]["id"]
    assert conflicts[0]["device"] == "B" and conflicts[0]["scan_id"] == "scan-b"
    assert conflicts[0]["scanned_at"] == at_b.replace(microsecond=0)

    # An online scan now is refused, naming A and its time.
    again = (await staff.post("/api/checkins", {"code": code, "device": "C"}, expect=200)).json()
    assert again["result"] == "already_checked_in" and again["device"] == "A"
    assert f"at {at_a.astimezone(ZoneInfo(TZ)):%H:%M} by A" in again["message"]


async def test_checkin_concurrent_offline_uploads_keep_the_earliest(scene):
    """Many devices upload earlier scans of one already-admitted ticket at once: every upload is answered,
    and the earliest scan wins."""
    staff, code, now = scene["staff"], scene["ticket"]["ticket"]["code"], scene["now"]
    first = (await staff.post("/api/checkins", {"code": code, "device": "online"}, expect=200)).json()
    assert first["result"] == "admitted"
    devices = 12
    times = {f"dev-{i}": now - timedelta(minutes=20 - i) for i in range(devices)}  # dev-0 is the earliest
    await asyncio.gather(*[
        staff.post("/api/checkins/batch", {"device": d, "scans": [{"code": code, "scan_id": f"s-{d}", "scanned_at": _iso(at)}]}, expect=200)
        for d, at in reversed(list(times.items()))
    ])
    row = await Checkin.select().first()
    assert (row["device"], row["checked_in_at"]) == ("dev-0", times["dev-0"].replace(microsecond=0))


async def test_checkin_unknown_code_is_invalid(scene):
    body = (await scene["staff"].post("/api/checkins", {"code": "this-is-not-a-ticket"}, expect=200)).json()
    assert body["result"] == "invalid"
    assert body["message"]
    assert await Checkin.count() == 0


async def test_checkin_ticket_of_another_activity_is_wrong_activity(scene, api, client):
    other = await running_now(api, title="Sound bath", space_name="Studio B", program=scene["program"])
    ticket = await rsvp(client, other["activity"]["id"], 7)
    slot_here = scene["activity"]["slots"][0]["id"]
    body = (await scene["staff"].post("/api/checkins", {"code": ticket["ticket"]["code"], "slot_id": slot_here}, expect=200)).json()
    assert body["result"] == "wrong_activity"
    assert "Sound bath" in body["message"]
    assert await Checkin.count() == 0


async def test_checkin_cancelled_rsvp_is_invalid(scene, client):
    t = scene["ticket"]
    token = t["manage_url"].split("token=", 1)[1]
    r = await client.post(f"/api/rsvps/{t['id']}/cancel", params={"token": token})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    body = (await scene["staff"].post("/api/checkins", {"code": t["ticket"]["code"]}, expect=200)).json()
    assert body["result"] == "invalid"
    assert "cancelled" in body["message"]
    assert await Checkin.count() == 0


async def test_checkin_without_login_is_401(scene, client):
    r = await client.post("/api/checkins", json={"code": scene["ticket"]["ticket"]["code"]})
    assert r.status_code == 401
    r = await client.post("/api/checkins/batch", json={"scans": [{"code": "x", "scan_id": "1", "scanned_at": _iso(scene["now"])}]})
    assert r.status_code == 401
    assert await Checkin.count() == 0


async def test_checkin_user_without_a_role_is_403(scene, client):
    await make_user("nobody@example.org", admin=False)
    nobody = await token_for(client, "nobody@example.org")
    code = scene["ticket"]["ticket"]["code"]
    r = await nobody.post("/api/checkins", {"code": code})
    assert r.status_code == 403, r.text
    r = await nobody.post("/api/checkins", {"code": "not-a-ticket"})
    assert r.status_code == 403, r.text
    r = await nobody.post("/api/checkins/batch", {"scans": [{"code": code, "scan_id": "n1", "scanned_at": _iso(scene["now"])}]})
    assert r.status_code == 403, r.text
    assert await Checkin.count() == 0


async def test_checkin_staff_of_another_programme_is_403(scene, api, client):
    elsewhere = await api.program(name="Another festival")
    other_staff = await add_staff(api, client, elsewhere["id"], email="other-staff@example.org")
    code = scene["ticket"]["ticket"]["code"]
    r = await other_staff.post("/api/checkins", {"code": code})
    assert r.status_code == 403, r.text
    assert "not staff" in r.json()["detail"]
    r = await other_staff.post("/api/checkins/batch", {"scans": [{"code": code, "scan_id": "o1", "scanned_at": _iso(scene["now"])}]})
    assert r.status_code == 200 and r.json()["results"][0]["result"] == "error"
    assert await Checkin.count() == 0


async def test_ticket_qr_png_decodes_to_the_code(scene, client):
    t = scene["ticket"]["ticket"]
    url = urlsplit(t["qr_png_url"])
    r = await client.get(f"{url.path}?{url.query}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(r.content)))] == [t["code"]]


async def test_ticket_qr_svg_parses(scene, client):
    t = scene["ticket"]["ticket"]
    url = urlsplit(t["qr_svg_url"])
    r = await client.get(f"{url.path}?{url.query}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find(".//{http://www.w3.org/2000/svg}path") is not None


async def test_ticket_qr_needs_the_guest_token(scene, client):
    url = urlsplit(scene["ticket"]["ticket"]["qr_png_url"])
    r = await client.get(url.path, params={"token": "wrong"})
    assert r.status_code in (403, 404)


async def test_checkin_ticket_of_one_slot_does_not_admit_again_in_another_slot(api, client):
    s = await running_now(api, slot_minutes=30)
    staff = await add_staff(api, client, s["program"]["id"])
    first_slot, second_slot = s["activity"]["slots"][0]["id"], s["activity"]["slots"][1]["id"]
    ticket = await rsvp(client, s["activity"]["id"], 1, slot_id=first_slot)
    code = ticket["ticket"]["code"]
    assert (await staff.post("/api/checkins", {"code": code, "slot_id": first_slot}, expect=200)).json()["result"] == "admitted"
    again = (await staff.post("/api/checkins", {"code": code, "slot_id": second_slot}, expect=200)).json()
    assert again["result"] != "admitted"
    assert await Checkin.count() == 1
