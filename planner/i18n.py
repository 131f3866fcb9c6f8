"""Languages: gettext catalogues, the request's language, lazy strings, and Babel formatting.

Catalogues live in planner/locale (scripts/i18n.sh keeps them up to date); English is the source
language. Rules never see a request: they mark text with `_l()` (or raise `PlannerError` with a
literal or an `_l()`), and the text is turned into words when it is shown, in the language of
`current_language`, which the web layer sets per request and the mail worker sets per guest.
"""
from __future__ import annotations

import contextvars
import gettext as _gettext
import json
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel import dates as _dates
from babel import numbers as _numbers
from markupsafe import escape

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
# Every language a guest can choose, each complete (tests/test_i18n.py checks the catalogues).
LANGUAGES = ("en", "es", "fr", "de", "pt")
# Each language's name in itself, for the language switcher.
NATIVE_NAMES = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch", "pt": "Português"}
COOKIE = "planner_lang"

current_language: contextvars.ContextVar[str] = contextvars.ContextVar("current_language", default=DEFAULT)
# Where the current language came from: "asked" (?lang=), "cookie" (the guest's earlier choice),
# "browser" (Accept-Language), or "default" (nothing matched: a programme's default may take over).
language_source: contextvars.ContextVar[str] = contextvars.ContextVar("language_source", default="default")


@lru_cache(maxsize=32)
def translations(lang: str) -> _gettext.NullTranslations:
    return _gettext.translation("messages", localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


@lru_cache(maxsize=1)
def available() -> tuple[str, ...]:
    """The languages with a compiled catalogue (read once: every request asks)."""
    langs = [DEFAULT]
    if LOCALE_DIR.is_dir():
        langs += sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / "messages.mo").exists())
    return tuple(code for code in LANGUAGES if code in langs)


def supported(code: str | None) -> str | None:
    """The language we have for a tag such as "pt-BR", "de_AT" or "FR", or None."""
    if not code or not isinstance(code, str):
        return None
    primary = code.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in available() else None


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an Accept-Language header, most wanted first (q=0 left out)."""
    tags: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            tags.append((-q, i, tag))
    return [t for _q, _i, t in sorted(tags)]


def negotiate(accept: str | None, offered: Iterable[str] | None = None) -> str | None:
    """Babel's negotiation of an Accept-Language header against our languages (or a subset)."""
    wanted = [t.replace("_", "-") for t in parse_accept_language(accept)] if accept else []
    if not wanted:
        return None
    have = [code for code in (offered or available()) if code in available()]
    if not have:
        return None
    found = Locale.negotiate(wanted, have, sep="-")
    if found is None:
        # "pt-BR" against "pt": negotiate on the primary subtags too.
        found = Locale.negotiate([w.split("-")[0] for w in wanted], have, sep="-")
    return found.language if found else None


def pick_language(accept: str | None, offered: list[str] | None = None) -> str:
    """A stored or asked language code, or an Accept-Language header: the language to use, English at worst."""
    return negotiate(accept, offered) or supported(accept) or DEFAULT


# What the extractor looks for (scripts/i18n.sh and tests/test_i18n.py both use this): gettext's own
# names, lazy texts, PlannerError's and not_found's literal messages, and the labels the rules'
# field helpers take (their third or second argument).
EXTRACT_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "_nl": (1, 2), "PlannerError": None,
    "_text": (3,), "_int": (3,), "whole": (2,), "_whole": (2,),
}
# Stored seed texts shown to guests: the support resources' names, descriptions and hours.
SEED_KEYS = ("name", "description", "hours")


def extract_seed(fileobj, keywords, comment_tags, options):
    """Babel extractor for planner/resources/support_resources.json (see babel.cfg)."""
    data = json.load(fileobj)
    seen: set[str] = set()
    for r in data.get("resources", []):
        for key in SEED_KEYS:
            value = r.get(key)
            if isinstance(value, str) and value.strip() and value not in seen:
                seen.add(value)
                yield 1, None, value, [f"support resource {key} ({r.get('country')})"]


def stored(value: str | None, lang: str | None = None) -> str:
    """Text stored in English from our seed (a resource's name or hours), in the language if the catalogue has it;
    an organizer's own text is shown as typed."""
    if not value:
        return ""
    return translations(lang or current_language.get()).gettext(value)


def choose(asked: str | None, cookie: str | None, accept: str | None) -> tuple[str, str]:
    """The request's language and where it came from: the guest's choice, then the browser, then English."""
    if supported(asked):
        return supported(asked), "asked"
    if supported(cookie):
        return supported(cookie), "cookie"
    found = negotiate(accept)
    if found:
        return found, "browser"
    return DEFAULT, "default"


def use(lang: str, source: str) -> None:
    current_language.set(lang)
    language_source.set(source)


def _program_language(languages: Iterable[str] | str | None) -> str | None:
    if isinstance(languages, str):
        try:
            languages = json.loads(languages)
        except ValueError:
            languages = [languages]
    return next((supported(x) for x in (languages or []) if supported(x)), None)


def program_default(languages: Iterable[str] | str | None) -> str:
    """A programme's default language: the first of its languages that we have, else English.

    Mail to staff and organizers speaks it, since accounts do not store a language of their own."""
    return _program_language(languages) or DEFAULT


def settle_for_program(languages: Iterable[str] | str | None) -> str:
    """On a programme's pages: when neither the guest nor their browser chose, speak the programme's default."""
    if language_source.get() == "default":
        default = _program_language(languages)
        if default:
            use(default, "program")
    return current_language.get()


def chosen() -> str | None:
    """The current request's language if the person asked for it (?lang=, the cookie or Accept-Language), else None."""
    return current_language.get() if language_source.get() in ("asked", "cookie", "browser") else None


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def _(message: str) -> str:
    """Mark a string for extraction only; it is translated where it is shown (see `gettext`)."""
    return message


class LazyText:
    """Text to translate when it is shown, in the language of that moment, with {named} parameters.

    Parameters that are LazyText themselves (a field's label) are translated too; anything else
    (a guest's name, an activity's title) is shown as it is.
    """

    __slots__ = ("message", "params", "plural", "n")

    def __init__(self, message: str, params: Mapping[str, Any] | None = None, *, plural: str | None = None,
                 n: int | None = None) -> None:
        self.message = message
        self.params = dict(params or {})
        self.plural = plural
        self.n = n

    def render(self, lang: str | None = None) -> str:
        t = translations(lang or current_language.get())
        text = t.ngettext(self.message, self.plural, self.n or 0) if self.plural is not None else t.gettext(self.message)
        if not self.params:
            return text
        values = {k: (v.render(lang) if isinstance(v, LazyText) else v) for k, v in self.params.items()}
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            # A broken translation must never hide the message: fall back to the English one.
            return self.message.format(**values)

    def english(self) -> str:
        return self.render(DEFAULT)

    def __str__(self) -> str:
        return self.render()

    def __html__(self) -> str:
        return str(escape(self.render()))

    def __repr__(self) -> str:
        return f"LazyText({self.message!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyText):
            return (self.message, self.params, self.plural, self.n) == (other.message, other.params, other.plural, other.n)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.message, self.plural))


def _l(message: str, /, **params: Any) -> LazyText:
    """Lazy gettext with {named} parameters: `PlannerError(_l("{name} is full.", name=space))`."""
    return LazyText(message, params)


def _nl(singular: str, plural: str, n: int, /, **params: Any) -> LazyText:
    """Lazy ngettext; `n` is passed to the text as {n} as well."""
    return LazyText(singular, {"n": n, **params}, plural=plural, n=n)


def text(value: Any, lang: str | None = None) -> str:
    """Any message (LazyText or plain str) as words in the given or current language."""
    if isinstance(value, LazyText):
        return value.render(lang)
    return "" if value is None else str(value)


class Moment(LazyText):
    """A date, a moment or a span of time, written when shown in that language's way and the given zone."""

    def __init__(self, start: Any, end: Any = None, tz: str | None = None, style: str = "") -> None:
        super().__init__("", {"start": start, "end": end, "tz": tz, "style": style})

    def render(self, lang: str | None = None) -> str:
        start, end, tz = self.params["start"], self.params["end"], self.params["tz"]
        if self.params["style"] == "time":
            return format_time(start, tz, lang=lang)
        if isinstance(start, date) and not isinstance(start, datetime):
            return format_date(start, fmt="medium", lang=lang)
        if end is None:
            return format_datetime(start, tz, "short-day", lang)
        return format_span(start, end, tz, lang)


# ---------------------------------------------------------------- Babel formatting

# English dates and times are written the international way (24-hour clock, day before month).
FORMAT_LOCALES = {"en": "en_GB"}


def locale(lang: str | None = None) -> Locale:
    code = lang or current_language.get()
    code = FORMAT_LOCALES.get(code, code)
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def _as_datetime(value: datetime | str | None, tz: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if tz:
        zone = ZoneInfo(tz)
        value = value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    return value


def format_datetime(value: datetime | str | None, tz: str | None = None, fmt: str = "medium", lang: str | None = None) -> str:
    """A moment in the programme's time zone, in the language's own way ("11 de junho de 2027, 10:00")."""
    dt = _as_datetime(value, tz)
    if dt is None:
        return ""
    if "%" in fmt:
        return _strftime_like(dt, fmt, locale(lang))
    if fmt == "short-day":
        return f"{_dates.format_date(dt, 'EEE d MMM', locale=locale(lang))}, {_dates.format_time(dt, 'short', locale=locale(lang))}"
    return _dates.format_datetime(dt, fmt, tzinfo=dt.tzinfo, locale=locale(lang))


_SKELETON_PARTS = (("%A", "EEEE"), ("%a", "E"), ("%d", "d"), ("%B", "MMMM"), ("%b", "MMM"), ("%m", "M"), ("%Y", "y"))


def _strftime_like(dt: datetime, fmt: str, loc: Locale) -> str:
    """A strftime-style format ("%d %b %Y %H:%M") read as the parts it asks for, written the language's way."""
    date_skeleton = "".join(part for code, part in _SKELETON_PARTS if code in fmt)
    pieces = []
    if date_skeleton:
        pieces.append(_dates.format_skeleton(date_skeleton, dt, locale=loc))
    if "%H" in fmt or "%M" in fmt:
        pieces.append(_dates.format_skeleton("Hms" if "%S" in fmt else "Hm", dt, locale=loc))
    return ", ".join(pieces)


def format_date(value: date | datetime | str | None, tz: str | None = None, fmt: str = "full", lang: str | None = None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str) and len(value) == 10:
        value = date.fromisoformat(value)
    if isinstance(value, (datetime, str)):
        value = _as_datetime(value, tz)
    if fmt == "short-day":
        fmt = "EEE d MMM"
    return _dates.format_date(value, fmt, locale=locale(lang))


def format_time(value: datetime | str | None, tz: str | None = None, fmt: str = "short", lang: str | None = None) -> str:
    dt = _as_datetime(value, tz)
    if dt is None:
        return ""
    return _dates.format_time(dt, fmt, tzinfo=dt.tzinfo, locale=locale(lang))


def format_when(start: datetime | str | None, end: datetime | str | None, tz: str | None = None,
                lang: str | None = None) -> str:
    """A span of time as people write it: "vendredi 11 juin 2027, 10:00 – 11:00", or two full moments."""
    s, e = _as_datetime(start, tz), _as_datetime(end, tz)
    if s is None:
        return ""
    loc = locale(lang)
    if e is None:
        return f"{_dates.format_date(s, 'full', locale=loc)}, {_dates.format_time(s, 'short', locale=loc)}"
    if s.date() == e.date():
        times = _dates.format_interval(s.replace(tzinfo=None), e.replace(tzinfo=None), "Hm", locale=loc)
        return f"{_dates.format_date(s, 'full', locale=loc)}, {times}"
    def moment(d: datetime) -> str:
        return f"{_dates.format_date(d, 'medium', locale=loc)}, {_dates.format_time(d, 'short', locale=loc)}"

    return f"{moment(s)} – {moment(e)}"


def format_span(start: datetime | str, end: datetime | str, tz: str | None = None, lang: str | None = None) -> str:
    """A short span: "ven. 11 juin, 10:00–11:00" (two dates when it crosses midnight)."""
    s, e = _as_datetime(start, tz), _as_datetime(end, tz)
    loc = locale(lang)
    first = f"{_dates.format_date(s, 'EEE d MMM', locale=loc)}, {_dates.format_time(s, 'short', locale=loc)}"
    if s.date() == e.date():
        return f"{first}–{_dates.format_time(e, 'short', locale=loc)}"
    return f"{first} – {_dates.format_date(e, 'EEE d MMM', locale=loc)}, {_dates.format_time(e, 'short', locale=loc)}"


def format_number(value: int | float | None, lang: str | None = None) -> str:
    if value is None:
        return ""
    return _numbers.format_decimal(value, locale=locale(lang))


def language_name(code: str) -> str:
    return NATIVE_NAMES.get(code, code)
