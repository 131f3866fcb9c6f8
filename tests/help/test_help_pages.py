"""/help and /help/{country}: the programme's country first, one tap to call, small, in the guest's language."""
from __future__ import annotations

import re

from planner.i18n import translations


async def test_help_page_for_a_german_guest_on_a_us_programme_shows_us_lines_with_german_around_them(api, client):
    p = await api.program(country="US")
    de = translations("de").gettext
    for kwargs in ({"headers": {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}}, {"params": {"lang": "de"}}):
        params = {"program": p["id"], **kwargs.get("params", {})}
        r = await client.get("/help", params=params, headers=kwargs.get("headers"))
        assert r.status_code == 200
        html = r.text
        assert '<html lang="de">' in html
        # The programme's country comes first, named in German (Babel), with its lines one tap away.
        home = html[html.index('id="home-heading"'):html.index('id="find-heading"')]
        assert "Vereinigte Staaten" in home and 'href="tel:911"' in home and 'href="tel:988"' in home
        assert de("Emergency") in home and de("Help, wherever you are") in html
        page = await client.get("/help/US", params=params, headers=kwargs.get("headers"))
        assert "Vereinigte Staaten" in page.text and 'href="tel:911"' in page.text and 'href="tel:988"' in page.text
        assert "Englisch, Spanisch" in page.text  # the 988 line's languages, named in German
        assert de("Crisis line") in page.text


async def test_help_page_lists_every_country_with_a_tel_link_and_finds_them_by_name(client):
    html = (await client.get("/help")).text
    items = re.findall(r'<li data-n="[^"]*"><a href="/help/([A-Z]{2})">[^<]+</a> <a class="tel" href="tel:([0-9+*#]+)">', html)
    # The 249 ISO 3166-1 codes and the public list's AC, CP, TA and XK (NH, RH, YD appear as VU, ZW, YE).
    assert len(items) == 253 and len({c for c, _ in items}) == 253
    assert ("US", "911") in items and ("GB", "999") in items and ("VU", "112") in items
    found = (await client.get("/help", params={"q": "Alemanha"})).text
    assert 'href="/help/DE"' in found[found.index('role="status"'):found.index('id="all-heading"')]


async def test_help_country_page_filters_and_marks_unreviewed_entries(client):
    ke = (await client.get("/help/KE")).text
    assert ke.count("From public lists, not yet reviewed") == 2
    assert "CC BY-SA 4.0" in ke and "List of suicide crisis lines" in ke
    us = (await client.get("/help/US", params={"open": "1"})).text
    assert 'href="tel:911"' in us and "988 Suicide" in us and "MusiCares" not in us
    assert "From public lists" not in us
    es = (await client.get("/help/US", params={"language": "es"})).text
    assert "988 Suicide" in es and "Crisis Text Line" not in es and 'href="tel:911"' in es
    assert (await client.get("/help/ZZ", headers={"Accept": "text/html"})).status_code == 404


async def test_help_pages_are_small_and_fetch_nothing_from_elsewhere(client):
    sizes = {}
    for url in ("/help", "/help/US", "/help/KE", "/static/css/help.css", "/static/js/help.js", "/help/sw.js"):
        r = await client.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, url
        sizes[url] = int(r.headers.get("content-length") or len(r.content))
        if url.startswith("/help") and url != "/help/sw.js":
            assert r.headers["content-encoding"] == "gzip"
            assert not re.search(r'(src|href)="https?://(?!127\.0\.0\.1)[^"]*\.(js|css|woff2?)', r.text)
    assert sizes["/help"] < 12_000, sizes  # every country's emergency number, gzipped
    assert sizes["/help/US"] < 4_000, sizes
    assert sum(sizes.values()) < 24_000, sizes


async def test_help_service_worker_may_control_the_help_pages(client):
    r = await client.get("/help/sw.js")
    assert r.headers["service-worker-allowed"] == "/help"
    assert r.headers["content-type"].startswith("text/javascript")
    assert "caches" in r.text


async def test_help_page_ignores_an_unknown_or_impossible_programme(client):
    for value in ("99999", "x"):
        r = await client.get("/help", params={"program": value})
        assert r.status_code == 200 and 'id="home-heading"' not in r.text
    # A number no programme id can be is refused at the boundary, with a sentence, like everywhere else.
    r = await client.get("/help", params={"program": str(2**63)}, headers={"accept": "application/json"})
    assert r.status_code == 400 and "too large" in r.json()["detail"]


async def test_help_page_shows_the_programmes_own_entries_for_its_country(api, client):
    p = await api.program(country="GB", timezone="Europe/London")
    await api.post(f"/api/programs/{p['id']}/resources", {"name": "Welfare tent by the main stage", "kind": "on_site", "hours": "10:00-02:00"}, expect=201)
    mine = (await client.get("/help/GB", params={"program": p["id"]})).text
    assert "Welfare tent by the main stage" in mine and "Samaritans" in mine and 'href="tel:999"' in mine
    other = (await client.get("/help/FR", params={"program": p["id"]})).text
    assert "Welfare tent" not in other and 'href="tel:112"' in other
    assert "Welfare tent" not in (await client.get("/help/GB")).text


async def test_help_licence_page_carries_the_attribution_and_the_cc_by_sa_text(client):
    r = await client.get("/help/licence")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "revision 1362829639" in r.text and "revision 1363635917" in r.text
    assert "Attribution-ShareAlike 4.0 International" in r.text and "Section 3 -- License Conditions." in r.text
    assert 'href="/help/licence"' in (await client.get("/help")).text


def _tels(page: str) -> list[str]:
    return re.findall(r'href="tel:([^"]*)"', page)


async def test_a_line_with_several_numbers_dials_each_of_them_not_all_digits_run_together(api, client):
    """Germany's Telefonseelsorge is '0800 111 0 111 / 0800 111 0 222 / 116 123': one tap must dial one of them.
    The same for the Netherlands' 113, Argentina and India; a slash inside a note ('CABA/GBA') is not a separator."""
    from planner.phones import phone_numbers, tel

    assert phone_numbers("0800 111 0 111 / 0800 111 0 222 / 116 123") == ["0800 111 0 111", "0800 111 0 222", "116 123"]
    assert phone_numbers("135 (CABA/GBA) / (011) 5275-1135") == ["135 (CABA/GBA)", "(011) 5275-1135"]
    assert tel("135 (CABA/GBA) / (011) 5275-1135") == "135" and tel("116 123") == "116123" and tel(None) == ""
    good = {"08001110111", "08001110222", "116123", "112", "113", "08000113", "135", "01152751135", "14416", "18008914416"}
    de = (await client.get("/help/DE")).text
    assert {"08001110111", "08001110222", "116123"} <= set(_tels(de))
    for code in ("DE", "NL", "AR", "IN"):
        page = (await client.get(f"/help/{code}")).text
        # Every tel: link is one number: at most 15 digits (E.164), never three numbers glued together.
        assert all(len(t.lstrip("+")) <= 15 for t in _tels(page)), (code, _tels(page))
    p = await api.program(country="DE", timezone="Europe/Berlin")
    s = await api.space(p["id"])
    a = await api.activity(p["id"], s["id"], published=True)
    guest = (await client.get(f"/a/{a['id']}", params={"lang": "de"})).text
    top = guest[guest.index('<p class="crisis-bar">'):]
    top = top[:top.index("</p>")]
    # The bar names the number it dials, not the whole list (which is further down).
    assert _tels(top) == ["08001110111", "112"] and "0800 111 0 111" in top and "0800 111 0 222" not in top, top
    assert set(_tels(guest)) <= good, _tels(guest)
    home = (await client.get("/help", params={"program": p["id"]})).text
    assert set(_tels(home[home.index('id="home-heading"'):home.index('id="find-heading"')])) == {"112", "08001110111"}
    client.cookies.clear()


async def test_a_country_page_speaks_the_guests_language_in_descriptions_and_hours_too(client):
    """The curated entries' descriptions and hours are stored in English and shown through the catalogue."""
    de = translations("de").gettext
    r = await client.get("/help/DE", headers={"Accept-Language": "de"})
    assert r.status_code == 200
    text = r.text
    english = "Ambulance and fire; police is 110."
    assert de(english) != english and de(english) in text and english not in text
    pt = translations("pt").gettext
    r = await client.get("/help/DE", headers={"Accept-Language": "pt-BR"})
    assert pt(english) in r.text and english not in r.text
