import datetime as dt

from planner.resources.seed import INTERNATIONAL, PUBLIC_KEYS, load_seed, resources_for, reviewed_on

KIND_RANK = {"emergency": 0, "crisis_line": 1, "text_line": 2, "music_industry": 3}


def _international_names() -> list[str]:
    return [r["name"] for r in load_seed()["resources"] if r["country"] == INTERNATIONAL]


def test_resources_for_us_puts_911_first():
    entries = resources_for("US")

    assert entries[0]["kind"] == "emergency"
    assert entries[0]["phone"] == "911"
    assert entries[1]["name"] == "988 Suicide & Crisis Lifeline"


def test_resources_for_orders_emergency_then_crisis_lines_then_music_industry():
    for country in ("US", "GB", "CA", "AU", "DE", "BE"):
        ranks = [KIND_RANK[entry["kind"]] for entry in resources_for(country)]

        assert ranks == sorted(ranks), country
        assert ranks[0] == 0, country


def test_resources_for_country_without_crisis_line_still_gets_emergency_and_international():
    entries = resources_for("IT")

    assert [(e["kind"], e["phone"]) for e in entries[:1]] == [("emergency", "112")]
    assert [e["name"] for e in entries[1:]] == _international_names()
    assert not any(e["kind"] in ("crisis_line", "text_line") for e in entries)


def test_resources_for_unknown_country_gives_only_international_entries():
    entries = resources_for("ZZ")

    assert _international_names() == ["Backline global concierge"]
    assert [e["name"] for e in entries] == _international_names()


def test_resources_for_includes_international_entries_once_after_local_ones_of_their_kind():
    names = [e["name"] for e in resources_for("US")]

    assert names.count("Backline global concierge") == 1
    assert names[-1] == "Backline global concierge"
    assert [e["name"] for e in resources_for(INTERNATIONAL)] == _international_names()


def test_resources_for_accepts_lowercase_country():
    assert resources_for(" gb ") == resources_for("GB")


def test_every_entry_has_exactly_the_public_keys_and_its_source():
    countries = {r["country"] for r in load_seed()["resources"]} | {"ZZ", "KE"}
    for country in sorted(countries):
        for entry in resources_for(country):
            assert tuple(entry) == PUBLIC_KEYS + ("source",)
            assert entry["source"] in ("curated", "public_list")
            assert set(PUBLIC_KEYS) == {"name", "kind", "phone", "sms", "url", "hours", "languages", "description"}
            assert isinstance(entry["languages"], list)


def test_resources_for_every_crisis_line_comes_with_its_emergency_number():
    countries = {r["country"] for r in load_seed()["resources"]} - {INTERNATIONAL}
    for country in sorted(countries):
        entries = resources_for(country)
        if any(e["kind"] in ("crisis_line", "text_line") for e in entries):
            assert entries[0]["kind"] == "emergency" and entries[0]["phone"], country


def test_resources_for_languages_prefers_matching_entries_within_a_kind_and_hides_none():
    default = resources_for("BE")
    french = resources_for("BE", ["fr-BE"])

    crisis_languages = [e["languages"] for e in french if e["kind"] == "crisis_line"]
    assert crisis_languages[0] == ["fr"]
    assert crisis_languages[-1] == ["nl"]
    assert sorted(e["name"] for e in french) == sorted(e["name"] for e in default)
    assert french[0]["kind"] == "emergency"


def test_resources_for_returns_copies_the_caller_may_change():
    resources_for("US")[0]["languages"].append("xx")

    assert resources_for("US")[0]["languages"] == ["en"]


def test_load_seed_keeps_sources_and_confirmed_by():
    seed = load_seed()

    assert len(seed["resources"]) == 70
    assert all(r["sources"] and r["confirmed_by"] >= 1 for r in seed["resources"])
    seed["resources"].clear()
    assert len(load_seed()["resources"]) == 70


def test_reviewed_on_is_the_seed_review_date():
    assert reviewed_on() == dt.date(2026, 11, 23)
    assert load_seed()["reviewed_on"] == "2026-11-23"


def test_resources_for_a_country_outside_the_seed_gets_the_public_lists_numbers_marked_as_such():
    entries = resources_for("KE")

    assert [(e["kind"], e["phone"], e["source"]) for e in entries[:2]] == [
        ("emergency", "112", "public_list"), ("crisis_line", "0722 178 177", "public_list")]
    assert entries[-1]["source"] == "curated" and entries[-1]["name"] == "Backline global concierge"
