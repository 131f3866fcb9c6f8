"""Receiving a delivery from CSV: all rows or none, and the same file only once."""
from .helpers import inventory, item, on_hand, written


async def test_delivery_csv_receives_every_row_once(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs", sku="EAR-01")
    tea = await item(api, pid, "Chamomile tea", sku="TEA-02")
    text = "SKU,Qty\nEAR-01,200\nTEA-02,50\nEAR-01,20\n"
    r = await api.post(f"/api/programs/{pid}/stock/deliveries", {"csv": text, "ref": "DN-77"}, expect=201)
    body = r.json()
    assert body["ref"] == "DN-77" and body["repeated"] is False
    assert sorted((m["item_id"], m["quantity"], m["kind"]) for m in body["movements"]) == sorted(
        [(plugs["id"], 220, "receive"), (tea["id"], 50, "receive")])
    assert await on_hand(api, pid, plugs["id"], inv["warehouse"]) == 220
    again = await api.post(f"/api/programs/{pid}/stock/deliveries", {"csv": text, "ref": "DN-77"}, expect=200)
    assert again.json()["repeated"] is True
    assert await on_hand(api, pid, plugs["id"]) == 220
    # Without a reference the file itself is the key: the same file twice is received once.
    named = "name,quantity\nchamomile tea,5\n"
    await api.post(f"/api/programs/{pid}/stock/deliveries", {"csv": named, "location_id": inv["shelf"]}, expect=201)
    await api.post(f"/api/programs/{pid}/stock/deliveries", {"csv": named, "location_id": inv["shelf"]}, expect=200)
    assert await on_hand(api, pid, tea["id"], inv["shelf"]) == 5


async def test_delivery_with_a_bad_row_receives_nothing_and_names_the_lines(api, setup):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    await item(api, pid, "Earplugs", sku="EAR-01")
    before = await written()
    r = await api.post(f"/api/programs/{pid}/stock/deliveries", {"csv": "sku,quantity\nEAR-01,10\nNOPE-9,4\nEAR-01,-2\nEAR-01,lots\n"})
    assert r.status_code == 400
    assert "nothing was received" in r.json()["detail"]
    assert [(p["line"], p["error"]) for p in r.json()["extra"]["problems"]] == [
        (3, "No item NOPE-9 in this programme."),
        (4, "Quantity must be between 1 and 1000000."),
        (5, "Quantity must be a whole number."),
    ]
    r = await api.post(f"/api/programs/{pid}/stock/deliveries", {"csv": "EAR-01,10\n"})
    assert r.status_code == 400 and "first row" in r.json()["detail"]
    r = await api.post(f"/api/programs/{pid}/stock/deliveries", {"csv": ""})
    assert r.status_code == 400
    assert await written() == before
