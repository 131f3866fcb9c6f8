"""Resources organizers can trust: edit, reorder, add their own, review the country with a date, and a
warning on the programme page until it is reviewed."""
from __future__ import annotations

import re

from planner.resources.tables import ResourceReview, SupportResource
from tests.conftest import Api, make_user


async def login(client, email="organizer@example.org") -> None:
    await client.get("/login")
    await client.post("/login", data={"email": email, "password": "correct horse battery", "next": "/",
                                      "_csrf_token": client.cookies.get("csrftoken")})


async def form_token(client, url) -> str:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def test_programme_outside_the_curated_list_starts_with_its_public_list_numbers_not_yet_reviewed(api, client):
    p = await api.program(country="KE", timezone="Africa/Nairobi")
    rows = (await client.get(f"/api/programs/{p['id']}/resources")).json()
    assert [(r["kind"], r["phone"], r["reviewed"]) for r in rows[:2]] == [("emergency", "112", False), ("crisis_line", "0722 178 177", False)]
    review = await api.post(f"/api/programs/{p['id']}/resources/review", {"reviewed_on": "2026-11-01"}, expect=201)
    assert review.json() == {"country": "KE", "reviewed_on": "2026-11-01", "reviewed_by": "organizer@example.org"}
    assert all(r["reviewed"] for r in (await client.get(f"/api/programs/{p['id']}/resources")).json())


async def test_us_and_uk_programmes_list_their_crisis_lines_and_emergency_numbers(api, client):
    us = await api.program(country="US")
    phones = [r["phone"] for r in (await client.get(f"/api/programs/{us['id']}/resources")).json()]
    assert phones[:2] == ["911", "988"]
    uk = await api.program(country="GB", timezone="Europe/London")
    rows = (await client.get(f"/api/programs/{uk['id']}/resources")).json()
    assert rows[0]["phone"] == "999" and any(r["name"] == "Samaritans" and r["phone"] == "116 123" for r in rows)


async def test_organizer_reorders_edits_and_adds_resources_and_refusals_change_nothing(api, client):
    p = await api.program(country="GB", timezone="Europe/London")
    pid = p["id"]
    ids = [r["id"] for r in await SupportResource.select(SupportResource.id).where(SupportResource.program == pid).order_by(SupportResource.position)]
    new = list(reversed(ids))
    out = (await api.post(f"/api/programs/{pid}/resources/order", {"ids": new}, expect=200)).json()
    assert [r["id"] for r in out] == new
    assert (await api.post(f"/api/programs/{pid}/resources/order", {"ids": new[:-1]})).status_code == 409
    assert [r["id"] for r in (await api.post(f"/api/programs/{pid}/resources/order", {"ids": new}, expect=200)).json()] == new
    counsellor = (await api.post(f"/api/programs/{pid}/resources", {"name": "On-site counsellor (welfare tent)", "kind": "on_site",
                                                                    "hours": "Fri-Sun 12:00-02:00"}, expect=201)).json()
    assert counsellor["source"] == "organizer" and counsellor["position"] == len(ids)
    edited = (await api.patch(f"/api/resources/{ids[0]}", {"hours": "24/7, every day"}, expect=200)).json()
    assert edited["hours"] == "24/7, every day" and edited["source"] == "organizer"
    for bad in ({"phone": "1" * 61}, {"name": "x\x00y"}, {"kind": "magic"}, {"url": "javascript:alert(1)"}):
        r = await api.patch(f"/api/resources/{ids[0]}", bad)
        assert r.status_code == 400, bad
    assert (await api.get(f"/api/programs/{pid}/resources", expect=200)).json()[-1]["name"] == "On-site counsellor (welfare tent)"
    # Another programme's organizer can do none of it.
    await make_user("other@example.org", "correct horse battery")
    t = (await client.post("/api/auth/token", json={"email": "other@example.org", "password": "correct horse battery"})).json()["token"]
    other = Api(client, t)
    assert (await other.post(f"/api/programs/{pid}/resources/order", {"ids": ids})).status_code == 404
    assert (await other.post(f"/api/programs/{pid}/resources/review", {})).status_code == 404
    assert await ResourceReview.count() == 0
    assert (await api.post(f"/api/programs/{pid}/resources/review", {"reviewed_on": "2999-01-01"})).status_code == 400
    assert (await api.post(f"/api/programs/{pid}/resources/review", {"country": "ZZ"})).status_code == 400
    assert await ResourceReview.count() == 0


async def test_programme_page_warns_until_the_country_is_reviewed_through_the_resources_page(api, client):
    p = await api.program(country="DE", timezone="Europe/Berlin")
    pid = p["id"]
    await login(client)
    page = await client.get(f"/programs/{pid}")
    assert "have not been reviewed" in page.text and f'href="/programs/{pid}/resources"' in page.text
    tok = await form_token(client, f"/programs/{pid}/resources")
    ids = [r["id"] for r in await SupportResource.select(SupportResource.id).where(SupportResource.program == pid).order_by(SupportResource.position)]
    r = await client.post(f"/programs/{pid}/resources", data={"_csrf_token": tok, "action": "down", "resource_id": str(ids[0])})
    assert r.status_code == 303
    assert [x["id"] for x in await SupportResource.select(SupportResource.id).where(SupportResource.program == pid).order_by(SupportResource.position)][:2] == [ids[1], ids[0]]
    r = await client.post(f"/programs/{pid}/resources", data={"_csrf_token": tok, "action": "edit", "resource_id": str(ids[0]),
                                                              "name": "Notruf", "kind": "emergency", "phone": "112", "hours": "24/7"})
    assert r.status_code == 303 and (await SupportResource.select(SupportResource.name).where(SupportResource.id == ids[0]).first())["name"] == "Notruf"
    r = await client.post(f"/programs/{pid}/resources", data={"_csrf_token": tok, "action": "add", "name": "Care team",
                                                              "kind": "on_site", "url": "mailto:care@festival.example"})
    assert r.status_code == 303
    r = await client.post(f"/programs/{pid}/resources", data={"_csrf_token": tok, "action": "review", "reviewed_on": "2026-11-20"})
    assert r.status_code == 303
    page = await client.get(f"/programs/{pid}")
    assert "have not been reviewed" not in page.text
    manage = await client.get(f"/programs/{pid}/resources")
    assert "Reviewed on 2026-11-20 by organizer@example.org" in manage.text and "Care team" in manage.text
    # Another programme's resource id is refused, not moved.
    other = await api.program(name="Other")
    oid = (await SupportResource.select(SupportResource.id).where(SupportResource.program == other["id"]).first())["id"]
    r = await client.post(f"/programs/{pid}/resources", data={"_csrf_token": tok, "action": "toggle", "resource_id": str(oid), "enabled": "0"})
    assert r.status_code == 404
    assert (await SupportResource.select(SupportResource.enabled).where(SupportResource.id == oid).first())["enabled"] is True
