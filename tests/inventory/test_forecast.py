"""The forecast and pack list: demand from confirmed RSVPs and walk-ins against the kits at each space."""
from datetime import datetime, timezone

from planner.accounts.tables import User
from planner.db import write_transaction
from planner.inventory import forecast as inventory_forecast
from planner.inventory.handout import hand_out

from .helpers import inventory, item, move


async def _kit(api, pid):
    plugs = await item(api, pid, "Earplugs")
    tea = await item(api, pid, "Tea")
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "items": [
        {"item_id": plugs["id"], "quantity": 2}, {"item_id": tea["id"], "quantity": 1}]}, expect=201)).json()
    return kit, plugs, tea


async def _rsvp(api, activity_id, n, guests=0):
    r = await api.client.post(f"/api/activities/{activity_id}/rsvps", json={"name": f"Guest {n}", "email": f"guest{n}@example.org", "guests": guests})
    assert r.status_code == 201 and r.json()["status"] == "confirmed", r.text
    return r.json()


def _row(data, day, location_name, kit_name="Calm kit"):
    d = next(x for x in data["days"] if x["date"] == day)
    place = next(p for p in d["locations"] if p["name"] == location_name)
    return next(k for k in place["kits"] if k["name"] == kit_name)


async def test_forecast_shows_a_shortfall_once_confirmed_rsvps_exceed_stock(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    kit, plugs, tea = await _kit(api, pid)
    await move(api, pid, item_id=kit["id"], quantity=4, kind="receive", location_id=inv["shelf"])
    a = await api.activity(pid, inv["space_id"], kit_id=kit["id"], max_guests=2, walkin_estimate=1)
    await _rsvp(api, a["id"], 1, guests=1)
    await _rsvp(api, a["id"], 2)
    data = (await api.get(f"/api/programs/{pid}/forecast", expect=200)).json()
    row = _row(data, "2027-07-02", "Wellness tent")
    assert (row["confirmed"], row["walk_ins"], row["need"], row["available"], row["shortfall"]) == (3, 1, 4, 4, 0)
    assert data["shortfall"] == 0
    await _rsvp(api, a["id"], 3)
    data = (await api.get(f"/api/programs/{pid}/forecast", expect=200)).json()
    row = _row(data, "2027-07-02", "Wellness tent")
    assert (row["confirmed"], row["need"], row["available"], row["shortfall"]) == (4, 5, 4, 1)
    assert data["shortfall"] == 1
    # Nothing in the warehouse: the one kit short is to be assembled, and its items are missing too.
    assert (row["from_warehouse"], row["to_assemble"]) == (0, 1)
    assert [(c["name"], c["quantity"], c["short"]) for c in row["components"]] == [("Earplugs", 2, 2), ("Tea", 1, 1)]
    assert row["activities"] == [{"id": a["id"], "title": "Breathwork", "confirmed": 4, "walk_ins": 1, "draft": False}]


async def test_pack_list_takes_warehouse_kits_then_assembles_and_uses_stock_day_by_day(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    kit, plugs, tea = await _kit(api, pid)
    await move(api, pid, item_id=kit["id"], quantity=3, kind="receive", location_id=inv["shelf"])
    await move(api, pid, item_id=kit["id"], quantity=2, kind="receive")
    await move(api, pid, item_id=plugs["id"], quantity=100, kind="receive")
    await move(api, pid, item_id=tea["id"], quantity=2, kind="receive")
    # Day one: three 20-minute slots, walk-ins counted once for the day.
    a = await api.activity(pid, inv["space_id"], kit_id=kit["id"], walkin_estimate=2, capacity=1,
                           starts_at="2027-07-02T10:00", ends_at="2027-07-02T11:00", slot_minutes=20)
    for n, slot in enumerate(a["slots"]):
        r = await api.client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"G{n}", "email": f"g{n}@example.org", "slot_id": slot["id"]})
        assert r.json()["status"] == "confirmed"
    # Day two: another activity with the same kit in the same space.
    b = await api.activity(pid, inv["space_id"], kit_id=kit["id"], title="Sound bath", walkin_estimate=4,
                           starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    data = (await api.get(f"/api/programs/{pid}/forecast")).json()
    one = _row(data, "2027-07-02", "Wellness tent")
    assert (one["confirmed"], one["walk_ins"], one["need"], one["available"], one["shortfall"]) == (3, 2, 5, 3, 2)
    assert (one["from_warehouse"], one["to_assemble"]) == (2, 0)
    two = _row(data, "2027-07-03", "Wellness tent")
    assert (two["need"], two["available"], two["shortfall"], two["from_warehouse"], two["to_assemble"]) == (4, 0, 4, 0, 4)
    assert [(c["name"], c["quantity"], c["warehouse_on_hand"], c["short"]) for c in two["components"]] == [
        ("Earplugs", 8, 100, 0), ("Tea", 4, 2, 2)]
    day_two = next(d for d in data["days"] if d["date"] == "2027-07-03")
    assert day_two["components"] == [
        {"item_id": plugs["id"], "name": "Earplugs", "unit": "piece", "quantity": 8, "short": 0},
        {"item_id": tea["id"], "name": "Tea", "unit": "piece", "quantity": 4, "short": 2},
    ]
    assert data["shortfall"] == 6
    # A cancelled activity needs nothing.
    await api.post(f"/api/activities/{b['id']}/cancel", {}, expect=200)
    data = (await api.get(f"/api/programs/{pid}/forecast")).json()
    assert [d["date"] for d in data["days"]] == ["2027-07-02"]


async def test_kits_handed_out_today_count_as_demand_met_and_past_days_need_no_packing(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    kit, _, _ = await _kit(api, pid)
    await move(api, pid, item_id=kit["id"], quantity=5, kind="receive", location_id=inv["shelf"])
    a = await api.activity(pid, inv["space_id"], kit_id=kit["id"], walkin_estimate=3)
    await _rsvp(api, a["id"], 1)
    await _rsvp(api, a["id"], 2)
    organizer = await User.select().where(User.email == "organizer@example.org").first()
    during = datetime(2027, 7, 2, 15, 0, tzinfo=timezone.utc)  # 11:00 in New York, the day of the activity
    for n in range(2):
        async with write_transaction():
            assert (await hand_out(item_id=kit["id"], quantity=1, program_id=pid, low_stock_at=0, space_id=inv["space_id"],
                                   ref=f"checkin:{n}", user_id=None, now=during)).handed_out
    data = await inventory_forecast.forecast(pid, user=organizer, now=during)
    row = _row(data, "2027-07-02", "Wellness tent")
    assert (row["demand"], row["handed_out"], row["need"], row["available"], row["shortfall"]) == (5, 2, 3, 3, 0)
    assert data["days"][0]["today"] is True
    after = datetime(2027, 7, 4, 15, 0, tzinfo=timezone.utc)
    data = await inventory_forecast.forecast(pid, user=organizer, now=after)
    assert data["days"][0]["past"] is True and data["shortfall"] == 0
