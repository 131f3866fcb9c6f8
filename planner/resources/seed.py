"""The shipped seed list of emergency numbers, crisis lines and music-industry support services.

`support_resources.json` sits beside this module (provenance in SOURCES.md). Organizers copy
entries into their programme and edit them there; this module only reads the seed.
"""
from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from importlib import resources

from planner.resources.public_list import public_entries

SEED_FILE = "support_resources.json"
# Entries with this country apply everywhere.
INTERNATIONAL = "*"
PUBLIC_KEYS = ("name", "kind", "phone", "sms", "url", "hours", "languages", "description")

# Emergency numbers first: music-industry lines offer counselling, not emergency help.
_KIND_ORDER = {"emergency": 0, "crisis_line": 1, "text_line": 2, "music_industry": 3}


@functools.cache
def _seed() -> dict:
    text = resources.files(__package__).joinpath(SEED_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def load_seed() -> dict:
    """The whole seed file: `reviewed_on` and `resources`, each with its `sources` and `confirmed_by`."""
    return copy.deepcopy(_seed())


def reviewed_on() -> dt.date:
    """When the seed was last checked against its sources; organizers should verify entries after it."""
    return dt.date.fromisoformat(_seed()["reviewed_on"])


def _primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-")[0]


def resources_for(country: str, languages: list[str] | None = None) -> list[dict]:
    """The country's entries and the international ones, in the order to show them, each with its `source`.

    A country the seed does not cover gets its emergency number and crisis line from the public list
    (`source: "public_list"`, not yet reviewed), so a programme anywhere starts with them.

    Emergency numbers, then crisis lines (voice, then text), then music-industry services;
    within each kind the country's own entries come before international ones. `languages`
    (BCP 47 tags, e.g. ["es", "en-GB"]) moves entries offered in one of them ahead within
    their kind; it never hides an entry, since an emergency number matters in any language.
    """
    country = country.strip().upper()
    wanted = {_primary(tag) for tag in languages or ()}
    picked = [{**r, "source": "curated"} for r in _seed()["resources"] if r["country"] in (country, INTERNATIONAL)]
    if country != INTERNATIONAL and not any(r["country"] == country for r in picked):
        picked += [{**e, "country": country, "description": e["note"] or ""} for e in public_entries(country)]

    def order(entry: dict) -> tuple[int, bool, bool]:
        speaks = not wanted or any(_primary(tag) in wanted for tag in entry["languages"])
        return (_KIND_ORDER.get(entry["kind"], len(_KIND_ORDER)), entry["country"] == INTERNATIONAL, not speaks)

    return [
        {**{key: copy.deepcopy(entry[key]) for key in PUBLIC_KEYS}, "source": entry["source"]}
        for entry in sorted(picked, key=order)
    ]
