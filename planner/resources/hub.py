"""The global help hub: every country's emergency number and crisis line, in one place.

Two shipped lists feed it: `support_resources.json`, curated and reviewed on its date (SOURCES.md),
and the public list `emergency_numbers.json` (public_list.py). Where the curated list covers a
country it wins for that whole country (it left Italy's crisis line out on purpose, because its
sources disagreed); elsewhere the public list's entries are shown, marked as not yet reviewed.
Country names and search come from Babel in five languages. Pure functions, no database.
"""
from __future__ import annotations

import copy
import functools
import re
import unicodedata

from babel import Locale

from planner import phones
from planner.resources.public_list import (
    CURRENT,
    by_code,
    entry,
    public_entries,
    row_for,
)
from planner.resources.seed import INTERNATIONAL, load_seed

# The languages the hub names countries in (Babel's territory names) and searches.
LANGUAGES = ("en", "es", "fr", "de", "pt")
KINDS = ("emergency", "crisis_line", "text_line", "on_site", "music_industry", "other")
_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
# Babel knows these two-letter regions, but they are not ISO 3166-1 countries or territories (unions,
# placeholders, exceptionally reserved codes). The public list's own codes are accepted as well.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "DG", "EA", "IC", "CQ", "AC", "CP", "TA", "XK"}


@functools.cache
def country_codes() -> frozenset[str]:
    """Every code the hub answers for: ISO 3166-1 alpha-2 and the public list's own codes."""
    babel = {c for c in Locale("en").territories if len(c) == 2 and c.isalpha()}
    return frozenset((babel - _NOT_COUNTRIES) | set(by_code()))


def normalise_code(code: str | None) -> str | None:
    """The upper-cased code if it names a country or territory, else None."""
    code = (code or "").strip().upper()
    return code if len(code) == 2 and code in country_codes() else None


def country_name(code: str, lang: str = "en") -> str:
    name = Locale.parse(lang if lang in LANGUAGES else "en").territories.get(CURRENT.get(code, code))
    if name:
        return name
    row = row_for(code)
    return row["name"] if row else code


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[^a-z0-9]+", " ", "".join(ch for ch in text if not unicodedata.combining(ch))).strip()


@functools.cache
def _search_names() -> dict[str, tuple[str, ...]]:
    """Each country's names in the five languages (and the public list's English name), folded for search."""
    out = {}
    for code in country_codes():
        names = {_fold(country_name(code, lang)) for lang in LANGUAGES}
        row = row_for(code)
        if row:
            names.add(_fold(row["name"]))
        out[code] = tuple(sorted(n for n in names if n))
    return out


def search_terms(code: str) -> str:
    """The folded names a page puts on a country's list item, so the search box also works offline."""
    return "|".join((code.lower(),) + _search_names()[code])


def search(query: str, lang: str = "en") -> list[str]:
    """Codes of the countries whose name in any of the five languages contains the query (accents and case ignored)."""
    q = _fold(query or "")
    if not q:
        return []
    names = _search_names()
    hits = [c for c in country_codes() if c not in CURRENT and (c.lower() == q or any(q in n for n in names[c]))]
    return sorted(hits, key=lambda c: (c.lower() != q, not any(n.startswith(q) for n in names[c]), _fold(country_name(c, lang))))


def countries(lang: str = "en") -> list[dict]:
    """Every country, sorted by its name in `lang`, with its emergency number."""
    # NH, RH and YD are listed under their current codes (VU, ZW, YE); the API answers for both.
    rows = [{"code": c, "name": country_name(c, lang), "emergency": emergency_number(c), "terms": search_terms(c)}
            for c in country_codes() if c not in CURRENT]
    return sorted(rows, key=lambda r: _fold(r["name"]))


def tel(number: str | None) -> str:
    """The characters to dial, for a tel: link (the first number, where the field lists several)."""
    return phones.tel(number)


@functools.cache
def _curated_by_country() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in load_seed()["resources"]:
        out.setdefault(r["country"], []).append(r)
    return out


def _curated(country: str) -> list[dict]:
    return [
        entry(**{k: copy.deepcopy(r.get(k)) for k in ("name", "kind", "phone", "sms", "url", "hours", "languages")},
              description=r.get("description") or "", reviewed=True, source="curated")
        for r in _curated_by_country().get(country, [])
    ]


def order(entries: list[dict]) -> list[dict]:
    """Emergency numbers first, then crisis lines, text lines, on-site care, music-industry support; stable within a kind."""
    return sorted(entries, key=lambda e: _KIND_ORDER.get(e["kind"], len(KINDS)))


@functools.cache
def _entries(code: str) -> tuple[dict, ...]:
    own = _curated(code) or public_entries(code)
    international = order(_curated(INTERNATIONAL)) if code != INTERNATIONAL else []
    return tuple(order(own) + international)


def entries_for(code: str) -> list[dict]:
    """A country's entries: the curated ones where the curated list covers it, else the public list's;
    then the international ones. Every country has at least its emergency number."""
    return copy.deepcopy(list(_entries(code.upper())))


def emergency_number(code: str) -> str | None:
    return next((e["phone"] for e in _entries(code.upper()) if e["kind"] == "emergency" and e["phone"]), None)


def filtered(entries: list[dict], *, always_open: bool = False, kind: str | None = None, language: str | None = None) -> list[dict]:
    """The help page's filters. The emergency number is never hidden: it matters in any language."""
    def keep(e: dict) -> bool:
        if e["kind"] == "emergency":
            return True
        if always_open and (e.get("hours") or "").replace(" ", "") != "24/7":
            return False
        if kind and e["kind"] != kind:
            return False
        return not language or language in [x.split("-")[0].lower() for x in e.get("languages") or []]

    return [e for e in entries if keep(e)]


def api_entry(e: dict) -> dict:
    """The shape of GET /api/help (API.md), plus description, note and source."""
    return {k: e.get(k) for k in ("name", "kind", "phone", "sms", "url", "hours", "languages", "reviewed", "description", "note", "source")}
