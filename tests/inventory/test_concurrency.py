"""Concurrent movements against a real database: stock never goes below zero and the ledger always sums to it."""
import asyncio
import random

from planner.inventory import ledger as inventory_ledger
from planner.inventory.tables import StockLevel, StockMovement

from .helpers import inventory, item, move, on_hand


async def test_concurrent_transfers_out_of_one_location_never_overdraw(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs")
    await move(api, pid, item_id=plugs["id"], quantity=10, kind="receive")
    results = await asyncio.gather(*[
        move(api, pid, expect=None, item_id=plugs["id"], quantity=1, kind="transfer", to_location_id=inv["shelf"])
        for _ in range(25)
    ])
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 10 and codes.count(409) == 15, codes
    assert all("Not enough Earplugs" in r.json()["detail"] for r in results if r.status_code == 409)
    assert await on_hand(api, pid, plugs["id"], inv["warehouse"]) == 0
    assert await on_hand(api, pid, plugs["id"], inv["shelf"]) == 10
    assert await StockMovement.count().where(StockMovement.kind == "transfer") == 20
    assert await inventory_ledger.ledger_mismatches(pid) == []


async def test_concurrent_receives_into_a_new_location_create_one_level_row(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs")
    results = await asyncio.gather(*[
        move(api, pid, expect=None, item_id=plugs["id"], quantity=2, kind="receive", location_id=inv["shelf"]) for _ in range(20)
    ])
    assert [r.status_code for r in results] == [201] * 20
    assert await StockLevel.count() == 1
    assert await on_hand(api, pid, plugs["id"], inv["shelf"]) == 40
    assert await inventory_ledger.ledger_mismatches(pid) == []


async def test_concurrent_mixed_movements_keep_the_ledger_equal_to_stock(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs", low_stock_at=3)
    tea = await item(api, pid, "Tea", low_stock_at=3)
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "low_stock_at": 2, "items": [
        {"item_id": plugs["id"], "quantity": 2}, {"item_id": tea["id"], "quantity": 1}]}, expect=201)).json()
    await move(api, pid, item_id=plugs["id"], quantity=30, kind="receive")
    await move(api, pid, item_id=tea["id"], quantity=15, kind="receive")
    rng = random.Random(7)
    places = [inv["warehouse"], inv["shelf"]]
    calls = []
    for _ in range(60):
        choice = rng.choice(["assemble", "transfer", "hand_out", "adjust", "receive"])
        frm = rng.choice(places)
        if choice == "assemble":
            body = {"item_id": kit["id"], "quantity": rng.randint(1, 3), "kind": "assemble", "location_id": frm}
        elif choice == "transfer":
            body = {"item_id": rng.choice([plugs["id"], tea["id"], kit["id"]]), "quantity": rng.randint(1, 4), "kind": "transfer",
                    "location_id": frm, "to_location_id": places[1 - places.index(frm)]}
        elif choice == "hand_out":
            body = {"item_id": kit["id"], "quantity": 1, "kind": "hand_out", "location_id": frm}
        elif choice == "adjust":
            body = {"item_id": rng.choice([plugs["id"], tea["id"]]), "quantity": rng.choice([-3, -1, 2]), "kind": "adjust",
                    "reason": "count", "location_id": frm}
        else:
            body = {"item_id": rng.choice([plugs["id"], tea["id"]]), "quantity": rng.randint(1, 3), "kind": "receive", "location_id": frm}
        calls.append(move(api, pid, expect=None, **body))
    results = await asyncio.gather(*calls)
    assert {r.status_code for r in results} <= {201, 409}, [r.text for r in results if r.status_code not in (201, 409)]
    assert any(r.status_code == 201 for r in results) and any(r.status_code == 409 for r in results)
    assert await inventory_ledger.ledger_mismatches(pid) == []
    levels = await StockLevel.select(StockLevel.on_hand)
    assert all(lv["on_hand"] >= 0 for lv in levels)
    for r in (await api.get(f"/api/programs/{pid}/stock")).json():
        moved = await StockMovement.select(StockMovement.quantity).where(StockMovement.item == r["item_id"])
        assert r["on_hand"] == sum(m["quantity"] for m in moved)
