"""At the door, through the HTTP API on both engines: a ticket for another slot of the same activity is refused
saying when it is for, and staff or an organizer can admit it anyway with a reason (once, recorded, audited);
and a guest whose code will not read is found by name and admitted with a normal scan of their code."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from planner.audit.tables import AuditEvent
from planner.tickets.tables import Checkin
from tests.conftest import Api, make_user

TZ = "Europe/Berlin"
PASSWORD = "correct horse battery"


def _local(dt: datetime) -> str:
    return dt.astimezone(ZoneInfo(TZ)).replace(tzinfo=None).isoformat(timespec="minutes")


async def _token(client, email: str) -> Api:
    r = await client.post("/api/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return Api(client, r.json()["token"])


async def _staff(api: Api, client, program_id: int, email: str = "staff@example.org") -> Api:
    await make_user(email, admin=False)
    await api.post(f"/api/programs/{program_id}/members", {"email": email, "role": "staff"}, expect=201)
    return await _token(client, email)


async def _program(api: Api) -> dict:
    today = datetime.now(timezone.utc).astimezone(ZoneInfo(TZ)).date()
    return await api.program(timezone=TZ, country="DE", starts_on=(today - timedelta(days=1)).isoformat(),
                             ends_on=(today + timedelta(days=1)).isoformat())


async def _activity(api: Api, program_id: int, *, title="Breathwork", space="Wellness tent", **kw) -> dict:
    now = datetime.now(timezone.utc)
    s = await api.space(program_id, name=space)
    return await api.activity(program_id, s["id"], title=title, capacity=30, starts_at=_local(now - timedelta(minutes=30)),
                              ends_at=_local(now + timedelta(minutes=60)), **kw)


async def _rsvp(client, activity_id: int, name: str, email: str, **kw) -> dict:
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": name, "email": email, **kw})
    assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    return r.json()


# ---------------------------------------------------------------- admit anyway

async def test_another_slot_says_when_and_staff_can_admit_anyway_once_with_a_reason(api, client):
    p = await _program(api)
    a = await _activity(api, p["id"], slot_minutes=30)
    first, second, third = (s["id"] for s in a["slots"])
    staff = await _staff(api, client, p["id"])
    code = (await _rsvp(client, a["id"], "Ana Lima", "ana@example.org", slot_id=first))["ticket"]["code"]

    refused = (await staff.post("/api/checkins", {"code": code, "slot_id": second}, expect=200)).json()
    assert refused["result"] == "wrong_activity" and refused["reason"] == "other_slot"
    assert refused["message"].startswith("This ticket is for another time of “Breathwork”")
    assert refused["ticket_slot"] == first and refused["slot_id"] == second
    assert datetime.fromisoformat(refused["ticket_slot_starts"]) == datetime.fromisoformat(a["slots"][0]["starts_at"])

    missing = await staff.post("/api/checkins", {"code": code, "slot_id": second, "override": True}, expect=400)
    assert missing.json()["detail"].startswith("To admit anyway, give a reason")
    blank = await staff.post("/api/checkins", {"code": code, "slot_id": second, "override": True, "reason": "   "}, expect=400)
    assert blank.json()["extra"]["field"] == "reason"
    assert await Checkin.count() == 0

    body = (await staff.post("/api/checkins", {"code": code, "slot_id": second, "override": True, "reason": "Missed her  time"},
                             expect=200)).json()
    assert body["result"] == "admitted" and body["override"] is True and body["override_reason"] == "Missed her time"
    assert body["slot_id"] == first and body["admitted_to_slot_id"] == second
    rows = await Checkin.select(Checkin.slot, Checkin.override_reason, Checkin.override_slot)
    assert rows == [{"slot": first, "override_reason": "Missed her time", "override_slot": second}]
    audit = await AuditEvent.select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.detail).where(AuditEvent.action == "admitted_anyway")
    assert len(audit) == 1 and audit[0]["actor_label"] == "staff@example.org" and "Missed her time" in audit[0]["detail"]

    # Once only: neither another "anyway" nor the ticket's own slot lets it in again.
    again = (await staff.post("/api/checkins", {"code": code, "slot_id": third, "override": True, "reason": "again"}, expect=200)).json()
    assert again["result"] == "already_checked_in"
    own = (await staff.post("/api/checkins", {"code": code, "slot_id": first}, expect=200)).json()
    assert own["result"] == "already_checked_in"
    assert await Checkin.count() == 1


async def test_an_organizer_can_admit_anyway_but_a_guest_or_an_outsider_cannot(api, client):
    p = await _program(api)
    a = await _activity(api, p["id"], slot_minutes=30)
    first, second = a["slots"][0]["id"], a["slots"][1]["id"]
    code = (await _rsvp(client, a["id"], "Bo Berg", "bo@example.org", slot_id=first))["ticket"]["code"]
    anyway = {"code": code, "slot_id": second, "override": True, "reason": "Room in this one"}

    assert (await client.post("/api/checkins", json=anyway)).status_code == 401
    await make_user("outsider@example.org", admin=False)
    outsider = await _token(client, "outsider@example.org")
    assert (await outsider.post("/api/checkins", anyway)).status_code == 403
    other = await api.program(name="Another festival")
    await _staff(api, client, other["id"], "elsewhere@example.org")
    elsewhere = await _token(client, "elsewhere@example.org")
    assert (await elsewhere.post("/api/checkins", anyway)).status_code == 403
    assert await Checkin.count() == 0

    body = (await api.post("/api/checkins", anyway, expect=200)).json()
    assert body["result"] == "admitted" and body["override"] is True
    assert await Checkin.count() == 1


async def test_override_does_not_admit_a_ticket_of_another_activity_or_a_cancelled_one(api, client):
    p = await _program(api)
    a = await _activity(api, p["id"], slot_minutes=30)
    b = await _activity(api, p["id"], title="Sound bath", space="Studio")
    staff = await _staff(api, client, p["id"])
    t = await _rsvp(client, b["id"], "Cy Dahl", "cy@example.org")
    wrong = (await staff.post("/api/checkins", {"code": t["ticket"]["code"], "slot_id": a["slots"][0]["id"], "override": True,
                                                "reason": "please"}, expect=200)).json()
    assert wrong["result"] == "wrong_activity" and "reason" not in wrong
    assert (await staff.post("/api/checkins", {"code": t["ticket"]["code"], "override": "yes", "reason": "x"})).status_code == 400
    # Offline, in a batch: a scan that asks to admit anyway without a reason gets its own error, the rest go through.
    u = await _rsvp(client, a["id"], "Di Ek", "di@example.org", slot_id=a["slots"][0]["id"])
    now = datetime.now(timezone.utc).isoformat()
    out = (await staff.post("/api/checkins/batch", {"scans": [
        {"code": u["ticket"]["code"], "slot_id": a["slots"][1]["id"], "override": True, "scan_id": "b-1", "scanned_at": now},
        {"code": t["ticket"]["code"], "scan_id": "b-2", "scanned_at": now}]}, expect=200)).json()["results"]
    assert out[0]["result"] == "error" and "reason" in out[0]["message"]
    assert out[1]["result"] == "admitted"
    assert await Checkin.count() == 1


# ---------------------------------------------------------------- search by name

async def test_search_by_name_finds_confirmed_guests_in_any_case_and_admits_by_code(api, client):
    p = await _program(api)
    a = await _activity(api, p["id"])
    staff = await _staff(api, client, p["id"])
    ana = await _rsvp(client, a["id"], "Ana Lima", "ana@example.org")
    anna = await _rsvp(client, a["id"], "ANNA Berg", "anna@example.org")
    emile = await _rsvp(client, a["id"], "Émile Zola", "emile@example.org")
    await _rsvp(client, a["id"], "Bob Stone", "bob@example.org")
    gone = await _rsvp(client, a["id"], "Hannah Gone", "hannah@example.org")
    r = await client.post(f"/api/rsvps/{gone['id']}/cancel", params={"token": gone["manage_url"].split("token=", 1)[1]})
    assert r.status_code == 200

    found = (await staff.get("/api/scanner/search", params={"activity_id": a["id"], "q": "aN"}, expect=200)).json()["results"]
    assert [x["name"] for x in found] == ["Ana Lima", "ANNA Berg"]  # Hannah is cancelled
    first = found[0]
    assert first == {"rsvp_id": ana["id"], "name": "Ana Lima", "code": ana["ticket"]["code"],
                     "slot_starts_at": first["slot_starts_at"], "status": "confirmed", "checked_in": False}
    assert datetime.fromisoformat(first["slot_starts_at"]) == datetime.fromisoformat(a["slots"][0]["starts_at"])
    assert found[1]["code"] == anna["ticket"]["code"]
    assert [x["rsvp_id"] for x in (await staff.get("/api/scanner/search", params={"activity_id": a["id"], "q": "éMI"})).json()["results"]] \
        == [emile["id"]]

    # Admitting from a result is a normal scan of its code.
    assert (await staff.post("/api/checkins", {"code": first["code"]}, expect=200)).json()["result"] == "admitted"
    again = (await staff.get("/api/scanner/search", params={"activity_id": a["id"], "q": "lima"}, expect=200)).json()["results"]
    assert [x["checked_in"] for x in again] == [True]
    audit = await AuditEvent.select(AuditEvent.action, AuditEvent.subject, AuditEvent.actor_label).where(
        AuditEvent.action == "guest_searched")
    assert len(audit) == 3 and audit[0]["subject"] == f"activity {a['id']}" and audit[0]["actor_label"] == "staff@example.org"


async def test_search_needs_two_characters_and_shows_at_most_twenty(api, client):
    p = await _program(api)
    a = await _activity(api, p["id"], max_guests=0)
    staff = await _staff(api, client, p["id"])
    for i in range(23):
        await _rsvp(client, a["id"], f"Guest {i:02d}", f"g{i}@example.org")
    short = await staff.get("/api/scanner/search", params={"activity_id": a["id"], "q": " g "}, expect=400)
    assert short.json()["detail"] == "Type at least 2 letters of the guest's name."
    assert (await staff.get("/api/scanner/search", params={"activity_id": a["id"]})).status_code == 400
    assert (await staff.get("/api/scanner/search", params={"q": "guest"})).status_code == 400
    assert (await staff.get("/api/scanner/search", params={"activity_id": a["id"], "q": "x" * 101})).status_code == 400
    many = (await staff.get("/api/scanner/search", params={"activity_id": a["id"], "q": "GUEST"}, expect=200)).json()["results"]
    assert len(many) == 20 and many[0]["name"] == "Guest 00" and many[-1]["name"] == "Guest 19"


async def test_search_is_for_that_programmes_staff_and_never_shows_another_programmes_guests(api, client):
    p = await _program(api)
    a = await _activity(api, p["id"])
    staff = await _staff(api, client, p["id"])
    await _rsvp(client, a["id"], "Kim Here", "kim@example.org")
    other = await api.program(name="Another festival", timezone=TZ, country="DE", starts_on=p["starts_on"], ends_on=p["ends_on"])
    b = await _activity(api, other["id"], title="Yoga", space="Lawn")
    await _rsvp(client, b["id"], "Kim Elsewhere", "kim2@example.org")

    mine = (await staff.get("/api/scanner/search", params={"activity_id": a["id"], "q": "kim"}, expect=200)).json()["results"]
    assert [x["name"] for x in mine] == ["Kim Here"]
    # Staff of this programme asking about the other one's activity: as if it did not exist.
    assert (await staff.get("/api/scanner/search", params={"activity_id": b["id"], "q": "kim"})).status_code == 404
    assert (await client.get("/api/scanner/search", params={"activity_id": a["id"], "q": "kim"})).status_code == 401
    await make_user("outsider@example.org", admin=False)
    outsider = await _token(client, "outsider@example.org")
    assert (await outsider.get("/api/scanner/search", params={"activity_id": a["id"], "q": "kim"})).status_code == 404
    assert (await staff.get("/api/scanner/search", params={"activity_id": 999999, "q": "kim"})).status_code == 404
    assert await AuditEvent.count().where(AuditEvent.action == "guest_searched") == 1
