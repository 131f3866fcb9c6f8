"""The stock, ledger and forecast pages: forms post through the same rules, errors redisplay the page."""
from planner.inventory.tables import Item, StockMovement

from .helpers import inventory, item, move, on_hand, written

HTML = {"accept": "text/html"}


async def _login(client) -> str:
    await client.get("/login")
    csrf = client.cookies.get("csrftoken")
    r = await client.post("/login", data={"email": "organizer@example.org", "password": "correct horse battery", "next": "/",
                                          "_csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    return csrf


async def test_stock_page_lists_stock_and_forms_post_movements(api, setup, client):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs", low_stock_at=50)
    await move(api, pid, item_id=plugs["id"], quantity=12, kind="receive")
    csrf = await _login(client)
    r = await client.get(f"/programs/{pid}/stock", headers=HTML)
    assert r.status_code == 200
    assert "Earplugs" in r.text and "1 item is low on stock" in r.text and 'name="_csrf_token"' in r.text
    r = await client.post(f"/programs/{pid}/stock/movement", headers=HTML, follow_redirects=False, data={
        "_csrf_token": csrf, "kind": "transfer", "item_id": plugs["id"], "quantity": "5",
        "location_id": inv["warehouse"], "to_location_id": inv["shelf"]})
    assert r.status_code == 303 and r.headers["location"] == f"/programs/{pid}/stock?m=transfer"
    assert await on_hand(api, pid, plugs["id"], inv["shelf"]) == 5
    r = await client.post(f"/programs/{pid}/stock/item", headers=HTML, follow_redirects=False,
                          data={"_csrf_token": csrf, "name": "Journal", "sku": "JRN", "unit": "piece", "low_stock_at": "3"})
    assert r.status_code == 303
    journal = await Item.select().where(Item.name == "Journal").first()
    r = await client.post(f"/programs/{pid}/stock/kit", headers=HTML, follow_redirects=False, data={
        "_csrf_token": csrf, "name": "Calm kit", "item_1": plugs["id"], "quantity_1": "2", "item_2": journal["id"], "quantity_2": "1",
        "item_3": "", "quantity_3": "1", "low_stock_at": "0"})
    assert r.status_code == 303
    assert await Item.count().where(Item.is_kit == True) == 1  # noqa: E712
    ledger = await client.get(f"/programs/{pid}/ledger", headers=HTML)
    assert ledger.status_code == 200 and "Wellness tent" in ledger.text and "+5" in ledger.text and "-5" in ledger.text
    forecast = await client.get(f"/programs/{pid}/forecast", headers=HTML)
    assert forecast.status_code == 200 and "No activities with a kit yet" in forecast.text


async def test_a_refused_form_redisplays_the_page_with_the_reason_and_writes_nothing(api, setup, client):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs")
    await move(api, pid, item_id=plugs["id"], quantity=3, kind="receive")
    csrf = await _login(client)
    before = await written()
    r = await client.post(f"/programs/{pid}/stock/movement", headers=HTML, data={
        "_csrf_token": csrf, "kind": "adjust", "item_id": plugs["id"], "quantity": "-2", "location_id": inv["warehouse"], "reason": ""})
    assert r.status_code == 400 and "An adjustment needs a reason" in r.text
    assert 'id="ad-qty" name="quantity" type="number" required value="-2"' in r.text
    r = await client.post(f"/programs/{pid}/stock/movement", headers=HTML, data={
        "_csrf_token": csrf, "kind": "transfer", "item_id": plugs["id"], "quantity": "9", "location_id": inv["warehouse"],
        "to_location_id": inv["shelf"]})
    assert r.status_code == 409 and "Not enough Earplugs at Warehouse" in r.text
    r = await client.post(f"/programs/{pid}/stock/movement", headers=HTML, data={"kind": "receive", "item_id": plugs["id"], "quantity": "1"})
    assert r.status_code == 403  # no CSRF token
    assert await written() == before


async def test_delivery_upload_form_receives_the_file(api, setup, client):
    inv = await inventory(api, setup)
    pid = inv["pid"]
    plugs = await item(api, pid, "Earplugs", sku="EAR-01")
    csrf = await _login(client)
    files = {"file": ("delivery.csv", b"\xef\xbb\xbfsku,quantity\r\nEAR-01,30\r\n", "text/csv")}
    r = await client.post(f"/programs/{pid}/stock/delivery", headers=HTML, follow_redirects=False,
                          data={"_csrf_token": csrf, "csv": "", "location_id": str(inv["warehouse"]), "ref": ""}, files=files)
    assert r.status_code == 303 and r.headers["location"].endswith("m=delivery"), r.text
    assert await on_hand(api, pid, plugs["id"]) == 30
    r = await client.post(f"/programs/{pid}/stock/delivery", headers=HTML,
                          data={"_csrf_token": csrf, "csv": "sku,quantity\nNOPE,3\n", "location_id": ""})
    assert r.status_code == 400 and "Line 2" in r.text and "No item NOPE in this programme." in r.text
    assert await StockMovement.count() == 1


async def test_pages_need_a_login_and_membership(api, setup, client):
    pid = setup["program"]["id"]
    r = await client.get(f"/programs/{pid}/stock", headers=HTML, follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")
    await _login(client)
    other = await api.program(name="Elsewhere")
    from planner.programs.tables import Membership

    await Membership.delete().where(Membership.program == other["id"])
    for path in ("stock", "ledger", "forecast"):
        r = await client.get(f"/programs/{other['id']}/{path}", headers=HTML)
        assert r.status_code == 404, path
