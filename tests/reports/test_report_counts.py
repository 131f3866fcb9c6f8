"""The report of a scripted programme equals the counts made by hand; access is for organizers only."""
from __future__ import annotations

from tests.conftest import make_user
from tests.reports import scenario


async def test_report_of_scripted_programme_equals_independent_counts(api, client):
    s = await scenario.build(api, client)
    exp = s["expected"]
    r = await api.get(f"/api/programs/{s['program']['id']}/report", expect=200)
    rep = r.json()
    for key in ("people", "confirmed", "checked_in", "no_shows", "waitlist_unserved", "kits_handed_out", "walk_ins",
                "seats_taken", "seats", "residency_days_attended"):
        assert rep[key] == exp[key], (key, rep[key], exp[key])
    assert {a["id"]: {k: a[k] for k in exp["activities"][a["id"]]} for a in rep["activities"]} == exp["activities"]
    for a in rep["activities"]:
        assert set(a) >= {"id", "title", "kind", "seats", "confirmed", "checked_in", "no_shows", "waitlist_unserved", "kits_handed_out"}
    assert {i["name"]: i["quantity"] for i in rep["items_handed_out"]} == exp["items"]
    by_kind = {row["key"]: row for row in rep["by_kind"]}
    for kind, want in exp["by_kind"].items():
        assert {k: by_kind[kind][k] for k in want} == want, kind
    by_day = {row["key"]: row for row in rep["by_day"]}
    for day, want in exp["by_day"].items():
        assert by_day[day]["checked_in"] == want["checked_in"], day
    assert by_day["2027-07-02"]["kits_handed_out"] == 3
    assert {row["key"]: row["people"] for row in rep["by_language"]}.get("es") == exp["by_language_people"]["es"]
    assert rep["dinners"][0]["seats_taken"] == 2 and rep["dinners"][0]["seats"] == 6


async def test_report_shareable_masks_every_small_count_of_people(api, client):
    s = await scenario.build(api, client)
    rep = (await api.get(f"/api/programs/{s['program']['id']}/report", params={"shareable": "true"}, expect=200)).json()
    exp = s["expected"]
    for key in ("people", "confirmed", "checked_in", "no_shows", "waitlist_unserved", "kits_handed_out"):
        want = "<5" if exp[key] < 5 else exp[key]
        assert rep[key] == want, (key, rep[key])
    for a in rep["activities"]:
        for key in ("confirmed", "checked_in", "no_shows", "waitlist_unserved", "kits_handed_out"):
            want = exp["activities"][a["id"]][key]
            assert a[key] == ("<5" if want < 5 else want), (a["title"], key)
        # Seats offered are not a count of people.
        assert a["seats"] == exp["activities"][a["id"]]["seats"]
    assert rep["people"] == 8 and rep["confirmed"] == 11


async def test_report_is_for_organizers_only(api, client):
    s = await scenario.build(api, client)
    pid = s["program"]["id"]
    r = await s["staff"].get(f"/api/programs/{pid}/report")
    assert r.status_code == 403
    r = await client.get(f"/api/programs/{pid}/report")
    assert r.status_code == 401
    await make_user("other@example.org", admin=True)
    tok = (await client.post("/api/auth/token", json={"email": "other@example.org", "password": "correct horse battery"})).json()["token"]
    r = await client.get(f"/api/programs/{pid}/report", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 404
    r = await api.get("/api/programs/99999999999999999999/report")
    assert r.status_code in (400, 404)
    assert (await api.get("/api/programs/2147483647/report")).status_code == 404


async def test_report_of_empty_programme_is_all_zero(api, client):
    p = await api.program()
    rep = (await api.get(f"/api/programs/{p['id']}/report", expect=200)).json()
    assert rep["people"] == 0 and rep["activities"] == [] and rep["kits_handed_out"] == 0
    shared = (await api.get(f"/api/programs/{p['id']}/report", params={"shareable": "true"}, expect=200)).json()
    assert shared["people"] == "<5" and shared["checked_in"] == "<5"


async def test_report_across_all_programmes_is_for_admins_and_counts_each_programme(api, client):
    s = await scenario.build(api, client)
    other = await api.program(name="Harbour Nights 2027", country="DE", timezone="Europe/Berlin")
    html = await client.get("/reports", headers={**api.h, "Accept": "text/html"})
    assert html.status_code == 200
    assert "Impact report: all programmes" in html.text and "Harbour Nights 2027" in html.text
    by_programme = html.text.split('id="by-program"')[1].split("</table>")[0]
    assert "Riverside Festival 2027" in by_programme and ">DE<" in by_programme
    csv_r = await api.get("/reports.csv", expect=200)
    assert "Riverside Festival 2027" in csv_r.content.decode("utf-8-sig")
    assert (await client.get("/reports", headers={**s["staff"].h, "Accept": "text/html"})).status_code == 403
    # Organizers reach the programme's report from the programme page.
    page = await client.get(f"/programs/{s['program']['id']}", headers={**api.h, "Accept": "text/html"})
    assert f'href="/programs/{s["program"]["id"]}/report"' in page.text
    assert other["id"]
