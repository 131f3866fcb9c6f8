"""GET /api/help (API.md): every country and territory of the shipped public list has its emergency
number; curated entries win where both lists speak; 404 for a code that is not a country."""
from __future__ import annotations

import json
from pathlib import Path

from planner.resources import hub
from planner.resources.public_list import RENAMED, clean_number

DATA = json.loads((Path(__file__).resolve().parents[2] / "planner" / "resources" / "emergency_numbers.json").read_text())


async def test_help_api_every_country_in_the_data_file_gives_its_emergency_number(client):
    assert len(DATA["countries"]) == 245
    for row in DATA["countries"]:
        r = await client.get("/api/help", params={"country": row["country"]})
        assert r.status_code == 200, (row["country"], r.text)
        body = r.json()
        assert body["country"] == row["country"]
        emergency = [e for e in body["resources"] if e["kind"] == "emergency"]
        assert emergency, row["country"]
        # Where the curated list speaks it wins; for the 24 countries in both, the numbers agree.
        assert hub.tel(emergency[0]["phone"]) == hub.tel(clean_number(row["emergency"]["number"])), row["country"]
        for e in body["resources"]:
            assert {"name", "kind", "languages", "reviewed"} <= set(e) and isinstance(e["languages"], list)


async def test_help_api_every_iso_country_has_an_emergency_number(client):
    # ISO 3166-1 codes the public list lacks (Namibia, small territories) and the current codes of the
    # three it files under withdrawn ones (VU, ZW, YE) answer too.
    for code in ("NA", "NF", "PN", "SJ", "UM", "BV", "HM", "TF", "VU", "ZW", "YE"):
        r = await client.get("/api/help", params={"country": code})
        assert r.status_code == 200, code
        assert any(e["kind"] == "emergency" and e["phone"] for e in r.json()["resources"]), code
    assert len(hub.country_codes() - set(RENAMED) - {r["country"] for r in DATA["countries"]}) == 8


async def test_help_api_us_lists_988_and_911(client):
    body = (await client.get("/api/help", params={"country": "US"})).json()
    phones = [e["phone"] for e in body["resources"]]
    assert "911" in phones and "988" in phones
    assert body["resources"][0]["phone"] == "911" and body["resources"][0]["kind"] == "emergency"
    assert all(e["reviewed"] for e in body["resources"])


async def test_help_api_uk_lists_samaritans_116_123_and_999(client):
    body = (await client.get("/api/help", params={"country": "GB"})).json()
    by_phone = {e["phone"]: e for e in body["resources"]}
    assert by_phone["999"]["kind"] == "emergency"
    assert by_phone["116 123"]["name"] == "Samaritans" and by_phone["116 123"]["kind"] == "crisis_line"


async def test_help_api_answers_404_for_a_code_that_is_not_a_country(client):
    for code in ("ZZ", "EU", "UN", "XX", "USA", "1", "é"):
        r = await client.get("/api/help", params={"country": code})
        assert r.status_code == 404, code
        assert "not a country" in r.json()["detail"]
    assert (await client.get("/api/help")).status_code == 400
    assert (await client.get("/api/help", params={"country": "us"})).json()["country"] == "US"


async def test_help_api_marks_public_list_entries_not_yet_reviewed(client):
    body = (await client.get("/api/help", params={"country": "KE"})).json()
    own = [e for e in body["resources"] if e["source"] == "public_list"]
    assert [(e["kind"], e["phone"], e["reviewed"]) for e in own] == [("emergency", "112", False), ("crisis_line", "0722 178 177", False)]
    # The international entry is curated.
    assert any(e["source"] == "curated" and e["reviewed"] for e in body["resources"])
    # Italy: the curated list left its crisis line out on purpose, and it wins for the whole country.
    it = (await client.get("/api/help", params={"country": "IT"})).json()["resources"]
    assert [e["kind"] for e in it if e["source"] != "curated"] == []


def test_help_search_finds_countries_by_name_in_five_languages():
    for query in ("Germany", "Alemania", "Allemagne", "Deutschland", "Alemanha", "alemanha"):
        assert hub.search(query)[0] == "DE", query
    assert hub.search("Estados Unidos")[0] == "US"
    assert hub.search("Royaume-Uni")[0] == "GB"
    assert hub.search("Suíça")[0] == "CH" and hub.search("suica")[0] == "CH"
    assert hub.search("us")[0] == "US"
    assert hub.search("nowhere-land") == []


def test_help_filters_keep_the_emergency_number():
    us = hub.entries_for("US")
    always = hub.filtered(us, always_open=True)
    assert {e["kind"] for e in always} >= {"emergency", "crisis_line"}
    assert all((e["hours"] or "") == "24/7" for e in always)
    spanish = hub.filtered(us, language="es")
    assert [e["phone"] for e in spanish] == ["911", "988"]
    music = hub.filtered(us, kind="music_industry")
    assert music[0]["kind"] == "emergency" and {e["kind"] for e in music[1:]} == {"music_industry"}
