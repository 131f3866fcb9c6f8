async def test_programme_gets_its_countrys_resources_publicly(api, client):
    p = await api.program()
    r = await client.get(f"/api/programs/{p['id']}/resources")
    assert r.status_code == 200
    rows = r.json()
    assert rows[0]["name"] and rows[0]["phone"] == "911" and rows[0]["kind"] == "emergency"
    assert set(rows[0]) == {"name", "kind", "phone", "sms", "url", "hours", "languages", "description", "reviewed"}
    assert isinstance(rows[0]["languages"], list)


async def test_organizer_adds_and_hides_resources(api, client):
    p = await api.program(country="GB", timezone="Europe/London")
    before = (await client.get(f"/api/programs/{p['id']}/resources")).json()
    new = (await api.post(f"/api/programs/{p['id']}/resources", {"name": "Festival welfare tent", "kind": "other", "hours": "10:00-02:00"}, expect=201)).json()
    after = (await client.get(f"/api/programs/{p['id']}/resources")).json()
    assert len(after) == len(before) + 1
    await api.patch(f"/api/resources/{new['id']}", {"enabled": False}, expect=200)
    assert len((await client.get(f"/api/programs/{p['id']}/resources")).json()) == len(before)
    bad = await api.post(f"/api/programs/{p['id']}/resources", {"name": "X", "kind": "nonsense"})
    assert bad.status_code == 400
    assert (await client.get("/api/programs/99999/resources")).status_code == 404
