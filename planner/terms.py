"""Words the app stores in English and shows translated: kinds, statuses, roles, default names and units.

`term("activation")` gives the word in the current language; a value we do not know (an organizer's
own unit such as "bottle", a location they named) is shown as it was typed.
"""
from __future__ import annotations

from planner.i18n import LazyText, _l, current_language, format_number, translations

TERMS: dict[str, LazyText] = {
    # activity kinds and RSVP modes
    "activation": _l("activation"),
    "residency": _l("residency"),
    "dinner": _l("dinner"),
    "open": _l("open"),
    "invite": _l("by invitation"),
    "apply": _l("by application"),
    # RSVP statuses
    "invited": _l("invited"),
    "applied": _l("applied"),
    "confirmed": _l("confirmed"),
    "waitlisted": _l("waitlisted"),
    "offered": _l("offered"),
    "declined": _l("declined"),
    "cancelled": _l("cancelled"),
    # roles
    "organizer": _l("organizer"),
    "staff": _l("staff"),
    "care": _l("care team"),
    "admin": _l("admin"),
    # stock: movement kinds, the default location and unit
    "receive": _l("received"),
    "transfer": _l("transfer"),
    "adjust": _l("adjustment"),
    "assemble": _l("assembled"),
    "return": _l("returned"),
    "hand_out": _l("handed out"),
    "Warehouse": _l("Warehouse"),
    "piece": _l("piece"),
    # support resources
    "emergency": _l("emergency number"),
    "crisis_line": _l("crisis line"),
    "text_line": _l("text line"),
    "music_industry": _l("music-industry support"),
    "other": _l("other"),
    # question kinds
    "text": _l("Short text"),
    "choice": _l("Choice"),
    "yesno": _l("Yes / no"),
    # check-in results
    "admitted": _l("admitted"),
    "already_checked_in": _l("already checked in"),
    "wrong_activity": _l("wrong activity"),
    "not_open": _l("not open"),
}


def term(value: object) -> str:
    if isinstance(value, str) and value in TERMS:
        return TERMS[value].render()
    return "" if value is None else str(value)


class Term(LazyText):
    """A stored word (a kind, a status, "Warehouse") translated when shown."""

    def __init__(self, value: str) -> None:
        super().__init__(value)

    def render(self, lang: str | None = None) -> str:
        found = TERMS.get(self.message)
        return found.render(lang) if found else self.message


class Terms(LazyText):
    """Several stored words, translated and joined: "organizer, staff"."""

    def __init__(self, values) -> None:
        super().__init__(", ".join(values), {"values": list(values)})

    def render(self, lang: str | None = None) -> str:
        return ", ".join(Term(v).render(lang) for v in self.params["values"])


class Count(LazyText):
    """A quantity with its unit: "3 pieces", "3 Stück"; an organizer's own unit is kept as typed."""

    def __init__(self, n: int, unit: str | None) -> None:
        super().__init__(unit or "piece", {"n": n})

    def render(self, lang: str | None = None) -> str:
        n = self.params["n"]
        if self.message == "piece":
            words = translations(lang or current_language.get()).ngettext("{n} piece", "{n} pieces", n)
            return words.format(n=format_number(n, lang))
        return f"{format_number(n, lang)} {self.message}"
