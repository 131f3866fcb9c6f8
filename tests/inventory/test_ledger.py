"""Stock movements: receive, transfer, adjust, assemble, return, hand-out; refusals change nothing."""
import csv
import io
from datetime import datetime, timezone

from planner.db import write_transaction
from planner.inventory import ledger as inventory_ledger
from planner.inventory import places as inventory_places
from planner.inventory.handout import hand_out
from planner.inventory.levels import after_taking, crossed_low
from planner.inventory.tables import Location, StockMovement
from planner.outbox.tables import OutboxMessage

from .helpers import inventory, item, move, on_hand, written


async def _ledger_matches(api, pid):
    assert await inventory_ledger.ledger_mismatches(pid) == []
    rows = (await api.get(f"/api/programs/{pid}/stock", expect=200)).json()
    for r in rows:
        moved = await StockMovement.select(StockMovement.quantity).where(StockMovement.item == r["item_id"])
        assert r["on_hand"] == sum(m["quantity"] for m in moved), r


async def test_receive_defaults_to_the_warehouse_and_stock_shows_it(api, setup):
    inv = await inventory(api, setup)
    plugs = await item(api, inv["pid"], "Earplugs", low_stock_at=5)
    r = await move(api, inv["pid"], item_id=plugs["id"], quantity=40, kind="receive", reason="First order")
    m = r.json()["movements"]
    assert [(x["location_id"], x["quantity"], x["kind"], x["on_hand"], x["reason"]) for x in m] == [
        (inv["warehouse"], 40, "receive", 40, "First order")]
    assert m[0]["user_id"] is not None and m[0]["created_at"].startswith("20")
    stock = (await api.get(f"/api/programs/{inv['pid']}/stock", expect=200)).json()
    assert stock == [{"item_id": plugs["id"], "name": "Earplugs", "on_hand": 40, "low": False, "sku": "", "unit": "piece",
                      "is_kit": False, "low_stock_at": 5,
                      "locations": [{"location_id": inv["warehouse"], "name": "Warehouse", "on_hand": 40}]}]
    await _ledger_matches(api, inv["pid"])


async def test_bad_movements_are_refused_and_write_nothing(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs")
    other = await api.program(name="Other festival")
    foreign = await item(api, other["id"], "Foreign plugs")
    foreign_loc = (await api.get(f"/api/programs/{other['id']}/locations")).json()[0]["id"]
    await move(api, pid, item_id=plugs["id"], quantity=10, kind="receive")
    before = await written()
    cases = [
        ({"item_id": plugs["id"], "quantity": -5, "kind": "receive"}, 400, "more than zero"),
        ({"item_id": plugs["id"], "quantity": 0, "kind": "receive"}, 400, "more than zero"),
        ({"item_id": 987654, "quantity": 5, "kind": "receive"}, 404, "item"),
        ({"item_id": foreign["id"], "quantity": 5, "kind": "receive"}, 404, "item"),
        ({"item_id": plugs["id"], "quantity": 5, "kind": "receive", "location_id": foreign_loc}, 404, "location"),
        ({"item_id": plugs["id"], "quantity": -3, "kind": "adjust"}, 400, "reason"),
        ({"item_id": plugs["id"], "quantity": -3, "kind": "adjust", "reason": "   "}, 400, "reason"),
        ({"item_id": plugs["id"], "quantity": 0, "kind": "adjust", "reason": "count"}, 400, "zero"),
        ({"item_id": plugs["id"], "quantity": 3, "kind": "transfer", "to_location_id": inv["warehouse"]}, 400, "different location"),
        ({"item_id": plugs["id"], "quantity": 3, "kind": "transfer"}, 400, "to_location_id"),
        ({"item_id": plugs["id"], "quantity": 3, "kind": "teleport"}, 400, "kind"),
        ({"item_id": plugs["id"], "quantity": 3, "kind": "assemble"}, 400, "not a kit"),
        ({"item_id": plugs["id"], "quantity": 11, "kind": "transfer", "to_location_id": inv["shelf"]}, 409, "Not enough Earplugs at Warehouse"),
        ({"item_id": plugs["id"], "quantity": -11, "kind": "adjust", "reason": "lost"}, 409, "Not enough"),
        ({"item_id": plugs["id"], "quantity": 1, "kind": "hand_out", "location_id": inv["shelf"]}, 409, "0 piece(s) on hand, 1 needed"),
    ]
    for body, status, words in cases:
        r = await move(api, pid, expect=None, **body)
        assert r.status_code == status, (body, r.text)
        assert words.lower() in r.json()["detail"].lower(), (body, r.json()["detail"])
    r = await move(api, pid, expect=409, item_id=plugs["id"], quantity=11, kind="transfer", to_location_id=inv["shelf"])
    assert r.json()["extra"] == {"item_id": plugs["id"], "location_id": inv["warehouse"], "on_hand": 10, "needed": 11}
    assert await written() == before
    await _ledger_matches(api, pid)


async def test_transfer_writes_two_lines_sharing_a_ref(api, setup):
    inv = await inventory(api, setup)
    plugs = await item(api, inv["pid"], "Earplugs")
    await move(api, inv["pid"], item_id=plugs["id"], quantity=10, kind="receive")
    r = await move(api, inv["pid"], item_id=plugs["id"], quantity=4, kind="transfer", to_location_id=inv["shelf"])
    lines = r.json()["movements"]
    assert [(x["location_id"], x["quantity"], x["on_hand"]) for x in lines] == [(inv["warehouse"], -4, 6), (inv["shelf"], 4, 4)]
    assert lines[0]["ref"] == lines[1]["ref"] == r.json()["ref"] and r.json()["ref"].startswith("transfer:")
    assert await on_hand(api, inv["pid"], plugs["id"]) == 10
    assert await on_hand(api, inv["pid"], plugs["id"], inv["shelf"]) == 4
    await _ledger_matches(api, inv["pid"])


async def test_adjust_with_reason_and_return_and_manual_hand_out(api, setup):
    inv = await inventory(api, setup)
    plugs = await item(api, inv["pid"], "Earplugs")
    await move(api, inv["pid"], item_id=plugs["id"], quantity=10, kind="receive")
    await move(api, inv["pid"], item_id=plugs["id"], quantity=-2, kind="adjust", reason="Counted 8 at close")
    await move(api, inv["pid"], item_id=plugs["id"], quantity=3, kind="hand_out", reason="Walk-ins at the gate")
    await move(api, inv["pid"], item_id=plugs["id"], quantity=1, kind="return")
    assert await on_hand(api, inv["pid"], plugs["id"]) == 6
    kinds = [(m["kind"], m["quantity"]) for m in (await api.get(f"/api/programs/{inv['pid']}/stock/movements")).json()]
    assert kinds == [("return", 1), ("hand_out", -3), ("adjust", -2), ("receive", 10)]
    await _ledger_matches(api, inv["pid"])


async def test_assemble_consumes_components_all_or_nothing(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs")
    tea = await item(api, pid, "Tea")
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "items": [
        {"item_id": plugs["id"], "quantity": 2}, {"item_id": tea["id"], "quantity": 1}]}, expect=201)).json()
    await move(api, pid, item_id=plugs["id"], quantity=10, kind="receive")
    await move(api, pid, item_id=tea["id"], quantity=3, kind="receive")
    before = await written()
    r = await move(api, pid, expect=409, item_id=kit["id"], quantity=4, kind="assemble")
    assert "Not enough Tea at Warehouse: 3 piece(s) on hand, 4 needed" in r.json()["detail"]
    assert await written() == before
    r = await move(api, pid, item_id=kit["id"], quantity=3, kind="assemble")
    lines = r.json()["movements"]
    assert sorted((x["item_id"], x["quantity"]) for x in lines) == sorted([(plugs["id"], -6), (tea["id"], -3), (kit["id"], 3)])
    assert len({x["ref"] for x in lines}) == 1
    assert (await on_hand(api, pid, plugs["id"]), await on_hand(api, pid, tea["id"]), await on_hand(api, pid, kit["id"])) == (4, 0, 3)
    await _ledger_matches(api, pid)


async def test_repeated_ref_moves_stock_once(api, setup):
    inv = await inventory(api, setup)
    plugs = await item(api, inv["pid"], "Earplugs")
    first = await move(api, inv["pid"], item_id=plugs["id"], quantity=10, kind="receive", ref="PO-1001")
    again = await move(api, inv["pid"], expect=200, item_id=plugs["id"], quantity=10, kind="receive", ref="PO-1001")
    assert again.json()["repeated"] is True
    assert again.json()["movements"][0]["id"] == first.json()["movements"][0]["id"]
    assert await on_hand(api, inv["pid"], plugs["id"]) == 10
    # The same delivery note for another item is a different line of the same delivery.
    tea = await item(api, inv["pid"], "Tea")
    await move(api, inv["pid"], item_id=tea["id"], quantity=5, kind="receive", ref="PO-1001")
    assert await on_hand(api, inv["pid"], tea["id"]) == 5


async def test_staff_may_read_stock_but_not_move_it_and_outsiders_see_nothing(api, setup, client):
    from tests.conftest import Api, make_user

    inv = await inventory(api, setup)
    plugs = await item(api, inv["pid"], "Earplugs")
    await move(api, inv["pid"], item_id=plugs["id"], quantity=10, kind="receive")
    await make_user("staff@example.org", "staff password 1", admin=False)
    await make_user("outsider@example.org", "outsider password 1", admin=False)
    await api.post(f"/api/programs/{inv['pid']}/members", {"email": "staff@example.org", "role": "staff"}, expect=201)
    tokens = {}
    for email, pw in [("staff@example.org", "staff password 1"), ("outsider@example.org", "outsider password 1")]:
        r = await client.post("/api/auth/token", json={"email": email, "password": pw})
        tokens[email] = Api(client, r.json()["token"])
    staff, outsider = tokens["staff@example.org"], tokens["outsider@example.org"]
    before = await written()
    assert (await staff.get(f"/api/programs/{inv['pid']}/stock", expect=200)).json()[0]["on_hand"] == 10
    await staff.get(f"/api/programs/{inv['pid']}/stock/movements", expect=200)
    await staff.get(f"/api/programs/{inv['pid']}/forecast", expect=200)
    r = await staff.post(f"/api/programs/{inv['pid']}/stock/movements", {"item_id": plugs["id"], "quantity": 1, "kind": "hand_out"})
    assert r.status_code == 403
    await staff.post(f"/api/programs/{inv['pid']}/items", {"name": "Tea"}, expect=403)
    await outsider.get(f"/api/programs/{inv['pid']}/stock", expect=404)
    await outsider.post(f"/api/programs/{inv['pid']}/stock/movements", {"item_id": plugs["id"], "quantity": 1, "kind": "receive"}, expect=404)
    r = await client.get(f"/api/programs/{inv['pid']}/stock")
    assert r.status_code == 401
    assert await written() == before


async def test_low_stock_mails_each_organizer_once_when_crossing(api, setup):
    from tests.conftest import make_user

    inv = await inventory(api, setup)
    pid = inv["pid"]
    await make_user("second@example.org", "second password 1", admin=False)
    await make_user("crew@example.org", "crew password 1", admin=False)
    await api.post(f"/api/programs/{pid}/members", {"email": "second@example.org", "role": "organizer"}, expect=201)
    await api.post(f"/api/programs/{pid}/members", {"email": "crew@example.org", "role": "staff"}, expect=201)
    plugs = await item(api, pid, "Earplugs", low_stock_at=5)
    await move(api, pid, item_id=plugs["id"], quantity=10, kind="receive")
    await move(api, pid, item_id=plugs["id"], quantity=3, kind="transfer", to_location_id=inv["shelf"])  # total stays 10
    await move(api, pid, item_id=plugs["id"], quantity=4, kind="hand_out")  # 6: above the line
    assert await OutboxMessage.count().where(OutboxMessage.kind == "low_stock") == 0
    await move(api, pid, item_id=plugs["id"], quantity=1, kind="hand_out", location_id=inv["shelf"])  # 5: crosses
    mails = await OutboxMessage.select().where(OutboxMessage.kind == "low_stock").order_by(OutboxMessage.to_addr)
    assert [m["to_addr"] for m in mails] == ["organizer@example.org", "second@example.org"]
    assert mails[0]["subject"].startswith("Low stock: Earplugs (5 left)")
    assert "Warehouse 3" in mails[0]["body_text"] and "Wellness tent 2" in mails[0]["body_text"]
    await move(api, pid, item_id=plugs["id"], quantity=1, kind="hand_out")  # 4: already below, no new mail
    assert await OutboxMessage.count().where(OutboxMessage.kind == "low_stock") == 2
    stock = (await api.get(f"/api/programs/{pid}/stock")).json()
    assert stock[0]["low"] is True and stock[0]["on_hand"] == 4
    await move(api, pid, item_id=plugs["id"], quantity=20, kind="receive")
    await move(api, pid, item_id=plugs["id"], quantity=-19, kind="adjust", reason="Rain damage")  # 24 -> 5 crosses again
    assert await OutboxMessage.count().where(OutboxMessage.kind == "low_stock") == 4


async def test_ledger_lists_newest_first_filters_and_pages(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs")
    tea = await item(api, pid, "Tea")
    for n in range(1, 6):
        await move(api, pid, item_id=plugs["id"], quantity=n, kind="receive")
    await move(api, pid, item_id=tea["id"], quantity=7, kind="receive")
    rows = (await api.get(f"/api/programs/{pid}/stock/movements", expect=200)).json()
    assert [r["quantity"] for r in rows] == [7, 5, 4, 3, 2, 1]
    assert rows[0]["item"] == "Tea" and rows[0]["location"] == "Warehouse" and rows[0]["user"] == "organizer@example.org"
    only = (await api.get(f"/api/programs/{pid}/stock/movements", params={"item_id": plugs["id"], "limit": 2})).json()
    assert [r["quantity"] for r in only] == [5, 4]
    older = (await api.get(f"/api/programs/{pid}/stock/movements", params={"item_id": plugs["id"], "before_id": only[-1]["id"]})).json()
    assert [r["quantity"] for r in older] == [3, 2, 1]


async def test_csv_exports_of_stock_and_ledger(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "=cmd|' /C calc'!A0", sku="EAR-01")
    await move(api, pid, item_id=plugs["id"], quantity=10, kind="receive")
    await move(api, pid, item_id=plugs["id"], quantity=4, kind="transfer", to_location_id=inv["shelf"])
    r = await api.get(f"/api/programs/{pid}/stock.csv", expect=200)
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0] == "item_id,name,sku,unit,kit,on_hand,low_stock_at,low,Warehouse,Wellness tent"
    assert lines[1].startswith(f"{plugs['id']},'=cmd") and lines[1].endswith(",EAR-01,piece,no,10,0,no,6,4")
    r = await api.get(f"/api/programs/{pid}/stock/movements.csv", expect=200)
    lines = r.text.strip().splitlines()
    assert lines[0] == "id,created_at,item_id,item,location_id,location,kind,quantity,reason,ref,user"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["kind"], x["quantity"], x["location"]) for x in rows] == [
        ("receive", "10", "Warehouse"), ("transfer", "-4", "Warehouse"), ("transfer", "4", "Wellness tent")]
    assert rows[0]["user"] == "organizer@example.org"


async def test_hand_out_helper_for_check_in(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs")
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "low_stock_at": 1, "items": [{"item_id": plugs["id"], "quantity": 1}]}, expect=201)).json()
    await move(api, pid, item_id=kit["id"], quantity=2, kind="receive", location_id=inv["shelf"])
    assert await inventory_places.space_location_id(inv["space_id"]) == inv["shelf"]
    now = datetime(2027, 7, 2, 14, 0, tzinfo=timezone.utc)
    results = []
    for n in range(3):
        async with write_transaction():
            done = await hand_out(item_id=kit["id"], quantity=1, program_id=pid, low_stock_at=1, space_id=inv["space_id"],
                                  ref=f"checkin:{n}", user_id=None, now=now)
            results.append(done.handed_out)
    assert results == [True, True, False]
    lines = await StockMovement.select().where(StockMovement.kind == "hand_out").order_by(StockMovement.id)
    assert [(m["quantity"], m["ref"], m["location"]) for m in lines] == [(-1, "checkin:0", inv["shelf"]), (-1, "checkin:1", inv["shelf"])]
    assert await on_hand(api, pid, kit["id"]) == 0
    assert await OutboxMessage.count().where(OutboxMessage.kind == "low_stock") == 1  # 2 -> 1 crossed; 1 -> 0 did not cross again
    await _ledger_matches(api, pid)


async def test_space_location_id_creates_a_missing_shelf(api, setup):
    inv = await inventory(api, setup)
    await Location.delete().where(Location.id == inv["shelf"])
    assert await Location.count().where(Location.space == inv["space_id"]) == 0
    new = await inventory_places.space_location_id(inv["space_id"])
    assert await inventory_places.space_location_id(inv["space_id"]) == new
    assert await Location.count().where(Location.space == inv["space_id"]) == 1


async def test_one_low_stock_rule_for_every_taker(api, setup):
    """The rule the hand-out, the manual movements and the one-statement scan all apply: a take alerts when it
    takes the item's total from above its line to at or below it, once; the one-statement scan passes the
    total it saw before its own take."""
    assert crossed_low(2, 1, 1) and crossed_low(5, 0, 1)
    assert not crossed_low(1, 0, 1) and not crossed_low(3, 2, 1) and not crossed_low(0, 0, 0)
    inv = await inventory(api, setup)
    pid = inv["pid"]
    kit = await item(api, pid, "Calm kit", low_stock_at=1)
    await move(api, pid, item_id=kit["id"], quantity=2, kind="receive", location_id=inv["shelf"])
    now = datetime(2027, 7, 2, 14, 0, tzinfo=timezone.utc)
    async with write_transaction():
        assert await after_taking(kit["id"], before=3, taken=1, line=1, now=now) is False
        assert await after_taking(kit["id"], before=2, taken=1, line=1, now=now) is True
    assert await OutboxMessage.count().where(OutboxMessage.kind == "low_stock") == 1
