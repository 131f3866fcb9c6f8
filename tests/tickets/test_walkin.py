"""Walk-ins: a confirmed RSVP and its check-in in one transaction, never past capacity, never mailed."""
import asyncio

from planner.inventory.tables import Item, Location, StockLevel, StockMovement
from planner.outbox.tables import OutboxMessage
from planner.rsvps.seats import counters_match_rows
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot
from planner.tickets.tables import Checkin


async def staff_api(client, api, program_id, email="door@example.org"):
    from tests.conftest import Api, make_user

    await make_user(email, "door staff password", admin=False)
    await api.post(f"/api/programs/{program_id}/members", {"email": email, "role": "staff"}, expect=201)
    r = await client.post("/api/auth/token", json={"email": email, "password": "door staff password"})
    return Api(client, r.json()["token"])


async def outsider_api(client):
    from tests.conftest import Api, make_user

    await make_user("outsider@example.org", "outsider password", admin=True)
    r = await client.post("/api/auth/token", json={"email": "outsider@example.org", "password": "outsider password"})
    return Api(client, r.json()["token"])


async def slot_of(activity):
    return await Slot.select().where(Slot.id == activity["slots"][0]["id"]).first()


async def test_walkin_is_admitted_with_a_confirmed_rsvp_and_check_in(api, setup, client):
    pid = setup["program"]["id"]
    a = await api.activity(pid, setup["space"]["id"], capacity=4, max_guests=2)
    door = await staff_api(client, api, pid)
    r = await client.post(f"/api/activities/{a['id']}/walkins", json={"name": "  Sam   Rivera ", "guests": 1},
                          headers={**door.h, "x-device": "door 1"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["result"] == "admitted"
    assert body["guest"] == {"name": "Sam Rivera"}
    assert body["party"] == 2 and body["left"] == 2
    rsvp = await Rsvp.select().where(Rsvp.id == body["rsvp_id"]).first()
    assert rsvp["status"] == "confirmed" and rsvp["guests"] == 1 and rsvp["note"] == "Walk-in"
    assert rsvp["email"].startswith("walkin+") and rsvp["email"].endswith("@walkin.invalid")
    c = await Checkin.select().where(Checkin.rsvp == body["rsvp_id"]).first()
    assert (c["party"], c["device"], c["slot"], c["online"]) == (2, "door 1", a["slots"][0]["id"], True)
    assert (await slot_of(a))["confirmed"] == 2
    assert await counters_match_rows(a["slots"][0]["id"])
    # A walk-in is never mailed.
    assert await OutboxMessage.count() == 0
    # No name given: "Walk-in". The organizer may admit too.
    r = await api.post(f"/api/activities/{a['id']}/walkins", {}, expect=201)
    assert r.json()["guest"] == {"name": "Walk-in"} and r.json()["party"] == 1
    assert await OutboxMessage.count() == 0


async def test_walkin_ticket_scanned_later_says_already_checked_in(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=4)
    body = (await api.post(f"/api/activities/{a['id']}/walkins", {"name": "Kai"}, expect=201)).json()
    code = (await Rsvp.select(Rsvp.ticket_code).where(Rsvp.id == body["rsvp_id"]).first())["ticket_code"]
    r = await api.post("/api/checkins", {"code": code}, expect=200)
    assert r.json()["result"] == "already_checked_in"
    assert await Checkin.count() == 1


async def test_walkin_refused_when_full_changes_nothing(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=2, max_guests=3)
    await api.post(f"/api/activities/{a['id']}/walkins", {"name": "A"}, expect=201)
    r = await api.post(f"/api/activities/{a['id']}/walkins", {"name": "B", "guests": 1}, expect=409)
    assert r.json()["extra"]["result"] == "full"
    assert r.json()["detail"] == "Only 1 seat left; this party is 2."
    await api.post(f"/api/activities/{a['id']}/walkins", {"name": "C"}, expect=201)
    r = await api.post(f"/api/activities/{a['id']}/walkins", {"name": "D"}, expect=409)
    assert r.json()["extra"] == {"result": "full", "left": 0, "capacity": 2}
    assert "Full" in r.json()["detail"]
    assert await Rsvp.count() == 2 and await Checkin.count() == 2
    assert (await slot_of(a))["confirmed"] == 2
    assert await counters_match_rows(a["slots"][0]["id"])


async def test_walkin_only_at_open_activations(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    dinner = await api.activity(pid, sid, kind="dinner", title="Songwriters' dinner", rsvp_mode="invite",
                                starts_at="2027-07-03T19:00", ends_at="2027-07-03T21:00")
    residency = await api.activity(pid, sid, kind="residency", title="Studio residency", rsvp_mode="apply",
                                   starts_at="2027-07-04T10:00", ends_at="2027-07-05T16:00")
    for act, words in ((dinner, "dinner by invitation"), (residency, "residency by application")):
        r = await api.post(f"/api/activities/{act['id']}/walkins", {"name": "X"}, expect=409)
        assert "only for activations with open RSVPs" in r.json()["detail"] and words in r.json()["detail"]
        assert r.json()["extra"] == {"result": "not_open"}
    cancelled = await api.activity(pid, sid, title="Gone", starts_at="2027-07-06T10:00", ends_at="2027-07-06T11:00")
    await api.post(f"/api/activities/{cancelled['id']}/cancel", {}, expect=200)
    r = await api.post(f"/api/activities/{cancelled['id']}/walkins", {}, expect=409)
    assert r.json()["detail"] == "This activity was cancelled."
    assert await Rsvp.count() == 0 and await Checkin.count() == 0


async def test_walkin_input_and_access_are_checked(api, setup, client):
    pid = setup["program"]["id"]
    a = await api.activity(pid, setup["space"]["id"], capacity=5, max_guests=1)
    r = await api.post(f"/api/activities/{a['id']}/walkins", {"guests": 2}, expect=400)
    assert "at most 1 plus-one" in r.json()["detail"]
    r = await api.post(f"/api/activities/{a['id']}/walkins", {"guests": "two"}, expect=400)
    r = await api.post(f"/api/activities/{a['id']}/walkins", {"slot_id": 999999}, expect=404)
    assert r.json()["detail"] == "That slot is not part of this activity."
    await api.post("/api/activities/999999/walkins", {}, expect=404)
    outsider = await outsider_api(client)
    await outsider.post(f"/api/activities/{a['id']}/walkins", {}, expect=404)
    r = await client.post(f"/api/activities/{a['id']}/walkins", json={})
    assert r.status_code == 401
    assert await Rsvp.count() == 0 and await Checkin.count() == 0


async def test_walkin_needs_a_slot_when_several_and_none_is_on(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=2, slot_minutes=20,
                           starts_at="2027-07-02T10:00", ends_at="2027-07-02T11:00")
    assert len(a["slots"]) == 3
    r = await api.post(f"/api/activities/{a['id']}/walkins", {}, expect=400)
    assert "pick a time slot" in r.json()["detail"]
    second = a["slots"][1]["id"]
    body = (await api.post(f"/api/activities/{a['id']}/walkins", {"slot_id": second}, expect=201)).json()
    assert body["slot_id"] == second
    assert (await Slot.select(Slot.confirmed).where(Slot.id == second).first())["confirmed"] == 1


async def test_walkin_picks_the_slot_on_now_and_refuses_an_ended_one():
    """The clock is a parameter of the rule: walk-ins at 10:25 go to the 10:20 slot; after the end, none."""
    from datetime import datetime, timezone

    from planner.accounts.rules import create_user
    from planner.changes.programs import create_program
    from planner.errors import PlannerError
    from planner.scheduling.activities import create_activity
    from planner.scheduling.spaces import add_space
    from planner.tickets.walkin import admit_walkin

    user = await create_user("lead@example.org", "lead password 12", admin=True)
    p = await create_program({"name": "P", "timezone": "UTC", "country": "GB", "starts_on": "2027-07-01",
                              "ends_on": "2027-07-03"}, user=user)
    s = await add_space(p["id"], {"name": "Tent", "capacity": 10}, user=user)
    a = await create_activity(p["id"], {"kind": "activation", "title": "Massage", "space_id": s["id"], "capacity": 2,
                                        "starts_at": "2027-07-02T10:00", "ends_at": "2027-07-02T11:00", "rsvp_mode": "open",
                                        "slot_minutes": 20, "published": True}, user=user,
                              now=datetime(2027, 1, 1, tzinfo=timezone.utc))
    out = await admit_walkin(a["id"], {}, user=user, device="", now=datetime(2027, 7, 2, 10, 25, tzinfo=timezone.utc))
    assert out["slot_id"] == a["slots"][1]["id"]
    try:
        await admit_walkin(a["id"], {"slot_id": a["slots"][0]["id"]}, user=user, device="",
                           now=datetime(2027, 7, 2, 10, 25, tzinfo=timezone.utc))
        raise AssertionError("an ended slot admitted a walk-in")
    except PlannerError as exc:
        assert (exc.code, exc.message) == ("closed", "This session is over.")
    assert await Rsvp.count() == 1


async def test_walkin_retry_with_the_same_scan_id_admits_once(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3)
    first = (await api.post(f"/api/activities/{a['id']}/walkins", {"name": "Ola", "scan_id": "door1-0001"}, expect=201)).json()
    again = (await api.post(f"/api/activities/{a['id']}/walkins", {"name": "Ola", "scan_id": "door1-0001"}, expect=201)).json()
    assert again["replay"] is True and again["rsvp_id"] == first["rsvp_id"] and again["guest"] == {"name": "Ola"}
    assert await Rsvp.count() == 1 and await Checkin.count() == 1
    assert (await slot_of(a))["confirmed"] == 1


async def test_walkin_hands_out_the_kit(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    kit = Item(program=pid, name="Calm kit", is_kit=True)
    await kit.save()
    shelf = await Location.select(Location.id).where(Location.space == sid).first()
    await StockLevel.insert(StockLevel(program=pid, item=kit.id, location=shelf["id"], on_hand=3))
    a = await api.activity(pid, sid, capacity=5, max_guests=1, kit_id=kit.id)
    body = (await api.post(f"/api/activities/{a['id']}/walkins", {"guests": 1}, expect=201)).json()
    assert body["kit"] == {"name": "Calm kit", "handed_out": True, "quantity": 2}
    assert (await StockLevel.select(StockLevel.on_hand).first())["on_hand"] == 1
    assert (await StockMovement.select(StockMovement.quantity).first())["quantity"] == -2
    assert (await Checkin.select(Checkin.kit).first())["kit"] == "handed_out"
    body = (await api.post(f"/api/activities/{a['id']}/walkins", {"guests": 1}, expect=201)).json()
    assert body["kit"]["handed_out"] is False  # one kit left for a party of two: the stock never goes below zero
    assert (await StockLevel.select(StockLevel.on_hand).first())["on_hand"] == 1


async def test_concurrent_walkins_never_pass_capacity(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=5)
    door = await staff_api(client, api, setup["program"]["id"])
    results = await asyncio.gather(*[
        (door if i % 2 else api).post(f"/api/activities/{a['id']}/walkins", {"name": f"Walk-in {i}"}) for i in range(12)
    ])
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * 5 + [409] * 7, [r.text for r in results]
    assert all(r.json()["extra"]["result"] == "full" for r in results if r.status_code == 409)
    assert (await slot_of(a))["confirmed"] == 5
    assert await Rsvp.count().where(Rsvp.status == "confirmed") == 5
    assert await Checkin.count() == 5
    assert await counters_match_rows(a["slots"][0]["id"])
    assert await OutboxMessage.count() == 0
