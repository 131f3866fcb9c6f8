"""The scan hands out a kit in the same transaction as the admission; stock never goes below zero."""
import asyncio

from planner.inventory.tables import Location, StockLevel, StockMovement
from planner.tickets.tables import Checkin
from tests.conftest import Api, make_user


async def staff_api(api, client, program_id) -> Api:
    await make_user("staff@example.org", admin=False)
    await api.post(f"/api/programs/{program_id}/members", {"email": "staff@example.org", "role": "staff"}, expect=201)
    tok = (await client.post("/api/auth/token", json={"email": "staff@example.org", "password": "correct horse battery"})).json()["token"]
    return Api(client, tok)


async def kit_tickets(api, setup, client, *, kits: int, guests: int) -> tuple[dict, dict, dict, list[str], Api]:
    """An activity at the setup's space whose admissions each take a calm kit: `kits` of them on its shelf,
    `guests` confirmed tickets, and a staff member's API."""
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    item = (await api.post(f"/api/programs/{pid}/items", {"name": "Earplugs"}, expect=201)).json()
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "items": [{"item_id": item["id"], "quantity": 1}]}, expect=201)).json()
    shelf = await Location.select(Location.id).where(Location.space == sid).first()
    await api.post(f"/api/programs/{pid}/stock/movements", {"item_id": kit["id"], "quantity": kits, "kind": "receive", "location_id": shelf["id"]}, expect=201)
    a = await api.activity(pid, sid, capacity=guests, kit_id=kit["id"])
    tickets = []
    for i in range(guests):
        r = await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"G{i}", "email": f"g{i}@example.org"})
        tickets.append(r.json()["ticket"]["code"])
    return a, kit, shelf, tickets, await staff_api(api, client, pid)


async def test_40_concurrent_admissions_with_30_kits(api, setup, client):
    a, kit, shelf, tickets, staff = await kit_tickets(api, setup, client, kits=30, guests=40)
    results = await asyncio.gather(*[staff.post("/api/checkins", {"code": c}) for c in tickets])
    bodies = [r.json() for r in results]
    assert [b["result"] for b in bodies] == ["admitted"] * 40
    handed = [b for b in bodies if b["kit"]["handed_out"]]
    assert len(handed) == 30
    assert all(b["kit"]["name"] == "Calm kit" for b in bodies)
    level = await StockLevel.select(StockLevel.on_hand).where((StockLevel.item == kit["id"]) & (StockLevel.location == shelf["id"])).first()
    assert level["on_hand"] == 0
    ledger = await StockMovement.select(StockMovement.quantity).where(StockMovement.item == kit["id"])
    assert sum(m["quantity"] for m in ledger) == 0
    assert len([m for m in ledger if m["quantity"] == -1]) == 30
    assert await Checkin.count() == 40
    assert await Checkin.count().where(Checkin.kit == "none_left") == 10
    # A rescan admits nobody and hands out nothing.
    again = (await staff.post("/api/checkins", {"code": tickets[0]}, expect=200)).json()
    assert again["result"] == "already_checked_in" and "checked_in_at" in again


async def test_scan_that_crosses_the_low_stock_line_emails_organizers(api, setup, client):
    from planner.outbox.tables import OutboxMessage

    pid, sid = setup["program"]["id"], setup["space"]["id"]
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Tea kit", "low_stock_at": 2,
           "items": [{"item_id": (await api.post(f"/api/programs/{pid}/items", {"name": "Tea"}, expect=201)).json()["id"], "quantity": 1}]}, expect=201)).json()
    shelf = await Location.select(Location.id).where(Location.space == sid).first()
    await api.post(f"/api/programs/{pid}/stock/movements", {"item_id": kit["id"], "quantity": 4, "kind": "receive", "location_id": shelf["id"]}, expect=201)
    a = await api.activity(pid, sid, capacity=10, kit_id=kit["id"])
    codes = [(await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"T{i}", "email": f"t{i}@example.org"})).json()["ticket"]["code"] for i in range(3)]
    staff = await staff_api(api, client, pid)
    for c in codes:
        assert (await staff.post("/api/checkins", {"code": c}, expect=200)).json()["kit"]["handed_out"] is True
    alerts = await OutboxMessage.select().where(OutboxMessage.kind == "low_stock")
    assert len(alerts) == 1 and alerts[0]["to_addr"] == "organizer@example.org"
