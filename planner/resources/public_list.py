"""The public list of emergency numbers and crisis lines (`emergency_numbers.json`).

Derived from two Wikipedia lists under CC BY-SA 4.0 (attribution in EMERGENCY_NUMBERS.md, licence
text in emergency_numbers.LICENSE.txt, apart from the code's licence). Guidance, not verified
official data: every entry from here is marked as not yet reviewed. Pure functions, no database.
"""
from __future__ import annotations

import functools
import json
import re
from importlib import resources

from babel.languages import get_official_languages

from planner.i18n import _

PUBLIC_FILE = "emergency_numbers.json"
KIND_LABELS = {
    "emergency": _("Emergency number"),
    "crisis_line": _("Crisis line"),
    "text_line": _("Text line"),
    "on_site": _("On-site care"),
    "music_industry": _("Music-industry support"),
    "other": _("Other support"),
}
# The list still files three countries under withdrawn codes (ISO 3166-3): current code -> code in the file.
RENAMED = {"VU": "NH", "ZW": "RH", "YE": "YD"}
CURRENT = {v: k for k, v in RENAMED.items()}
# ISO 3166-1 codes missing from the list (Namibia's "NA" was lost on the way, the others are small or
# uninhabited territories): the number of the country responsible, likewise not yet reviewed.
SUPPLEMENT = {
    "NA": ("10111", _("Police. From a mobile phone, 112 also connects.")),
    "NF": ("000", _("As in Australia.")),
    "HM": ("000", _("Uninhabited; as in Australia.")),
    "BV": ("112", _("Uninhabited; as in Norway.")),
    "SJ": ("112", _("As in Norway.")),
    "TF": ("112", _("As in France.")),
    "UM": ("911", _("As in the United States.")),
    "PN": ("999", _("As in the United Kingdom; not confirmed for the islands.")),
}
# Numbers the list cut short; the full number is in its own note ("0800/309-309").
_FIXES = {("RS", "crisis"): "0800 309 309"}


@functools.cache
def _public() -> dict:
    text = resources.files(__package__).joinpath(PUBLIC_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def by_code() -> dict[str, dict]:
    """The list's rows by the code they are filed under."""
    return {c["country"]: c for c in _public()["countries"]}


def row_for(code: str) -> dict | None:
    return by_code().get(RENAMED.get(code, code))


def attribution() -> dict:
    """What the help page shows about the list: licence, date, caution and the two source pages."""
    p = _public()
    return {
        "licence": p["licence"], "compiled_on": p["compiled_on"], "caution": p["caution"],
        "sources": [{"title": v["page"].replace("_", " "), "url": v["url"], "revision": v["revision"]}
                    for v in p["sources"].values() if isinstance(v, dict)],
    }


def clean_number(number: str | None) -> str:
    # A few numbers end with an opening bracket whose text went to the note ("911 (").
    return re.sub(r"\s*\($", "", (number or "").strip())


def official_languages(code: str) -> list[str]:
    """The country's official languages (Babel), as the best guess for lines the list gives none for."""
    return sorted({x.split("_")[0] for x in get_official_languages(CURRENT.get(code, code), regional=False, de_facto=True)})


def entry(**kw) -> dict:
    base = {"name": "", "kind": "other", "phone": None, "sms": None, "url": None, "hours": None, "languages": [],
            "description": "", "note": None, "reviewed": False, "source": "public_list"}
    base.update(kw)
    return base


def public_entries(code: str) -> list[dict]:
    """The country's emergency number and crisis line from the list (or the supplement), not yet reviewed."""
    code = code.upper()
    row = row_for(code)
    langs = official_languages(code)
    if row is None:
        number, note = SUPPLEMENT.get(code, (None, None))
        if not number:
            return []
        return [entry(name=KIND_LABELS["emergency"], kind="emergency", phone=number, hours="24/7", languages=langs, note=note)]
    out = []
    e = row["emergency"]
    if e and e.get("number"):
        out.append(entry(name=KIND_LABELS["emergency"], kind="emergency", phone=clean_number(e["number"]), hours="24/7",
                         languages=langs, note=e.get("note")))
    c = row["crisis"]
    if c and c.get("number"):
        number = _FIXES.get((row["country"], "crisis")) or clean_number(c["number"])
        out.append(entry(name=KIND_LABELS["crisis_line"], kind="crisis_line", phone=number, languages=langs, note=c.get("note")))
    return out
