"""Items, kits and locations through the API."""
from planner.inventory.tables import Item, KitComponent

from .helpers import inventory, item, written


async def test_programme_and_space_come_with_locations(api, setup):
    inv = await inventory(api, setup)
    locs = (await api.get(f"/api/programs/{inv['pid']}/locations", expect=200)).json()
    assert [(loc["name"], loc["warehouse"], loc["space_id"]) for loc in locs] == [
        ("Warehouse", True, None), ("Wellness tent", False, setup["space"]["id"]),
    ]


async def test_item_create_answers_with_its_fields_and_is_listed(api, setup):
    pid = setup["program"]["id"]
    r = await api.post(f"/api/programs/{pid}/items", {"name": "Earplugs", "sku": "EAR-01", "low_stock_at": 20, "unit": "pair"}, expect=201)
    body = r.json()
    assert body == {"id": body["id"], "program_id": pid, "name": "Earplugs", "sku": "EAR-01", "unit": "pair",
                    "low_stock_at": 20, "is_kit": False}
    minimal = await item(api, pid, "Tea")
    assert (minimal["sku"], minimal["unit"], minimal["low_stock_at"]) == ("", "piece", 0)
    listed = (await api.get(f"/api/programs/{pid}/items", expect=200)).json()
    assert [i["name"] for i in listed] == ["Earplugs", "Tea"]


async def test_item_refuses_missing_name_negative_threshold_and_duplicate_sku(api, setup):
    pid = setup["program"]["id"]
    await item(api, pid, "Earplugs", sku="EAR-01")
    before = await written()
    r = await api.post(f"/api/programs/{pid}/items", {"name": "  "})
    assert r.status_code == 400 and "Name" in r.json()["detail"]
    r = await api.post(f"/api/programs/{pid}/items", {"name": "Tea", "low_stock_at": -1})
    assert r.status_code == 400 and r.json()["extra"]["field"] == "low_stock_at"
    r = await api.post(f"/api/programs/{pid}/items", {"name": "Foam plugs", "sku": "EAR-01"})
    assert r.status_code == 409 and "Earplugs" in r.json()["detail"]
    assert await written() == before


async def test_item_threshold_can_be_changed(api, setup):
    pid = setup["program"]["id"]
    it = await item(api, pid, "Earplugs")
    r = await api.patch(f"/api/items/{it['id']}", {"low_stock_at": 15}, expect=200)
    assert r.json()["low_stock_at"] == 15 and r.json()["name"] == "Earplugs"


async def test_kit_is_an_item_usable_as_an_activity_kit(api, setup):
    pid = setup["program"]["id"]
    plugs = await item(api, pid, "Earplugs")
    tea = await item(api, pid, "Tea")
    r = await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "items": [
        {"item_id": plugs["id"], "quantity": 2}, {"item_id": tea["id"], "quantity": 1}]}, expect=201)
    kit = r.json()
    assert kit["is_kit"] is True and kit["name"] == "Calm kit"
    assert [(c["item_id"], c["quantity"]) for c in kit["items"]] == [(plugs["id"], 2), (tea["id"], 1)]
    assert await Item.exists().where((Item.id == kit["id"]) & (Item.is_kit == True))  # noqa: E712
    a = await api.activity(pid, setup["space"]["id"], kit_id=kit["id"])
    assert a["kit_id"] == kit["id"]
    kits = (await api.get(f"/api/programs/{pid}/kits", expect=200)).json()
    assert [k["id"] for k in kits] == [kit["id"]]
    assert [i["name"] for i in (await api.get(f"/api/programs/{pid}/items")).json()] == ["Earplugs", "Tea"]


async def test_kit_refuses_unknown_foreign_or_nested_items_and_writes_nothing(api, setup):
    pid = setup["program"]["id"]
    other = await api.program(name="Other festival")
    foreign = await item(api, other["id"], "Foreign plugs")
    plugs = await item(api, pid, "Earplugs")
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "items": [{"item_id": plugs["id"], "quantity": 1}]}, expect=201)).json()
    before = await written()
    for items, status in [
        ([{"item_id": 999999, "quantity": 1}], 404),
        ([{"item_id": foreign["id"], "quantity": 1}], 404),
        ([{"item_id": kit["id"], "quantity": 1}], 400),
        ([{"item_id": plugs["id"], "quantity": 0}], 400),
        ([], 400),
    ]:
        r = await api.post(f"/api/programs/{pid}/kits", {"name": "Bad kit", "items": items})
        assert r.status_code == status, (items, r.text)
    assert await written() == before
    assert await KitComponent.count() == 1


async def test_storage_location_can_be_added_once(api, setup):
    pid = setup["program"]["id"]
    r = await api.post(f"/api/programs/{pid}/locations", {"name": "Van"}, expect=201)
    assert r.json()["space_id"] is None and r.json()["warehouse"] is False
    await api.post(f"/api/programs/{pid}/locations", {"name": "Van"}, expect=409)
    names = [loc["name"] for loc in (await api.get(f"/api/programs/{pid}/locations")).json()]
    assert names == ["Warehouse", "Van", "Wellness tent"]
