"""Text, numbers and language codes that can be stored and shown safely: the checks behind the
request boundary (planner/boundary.py), also used by rules for values that arrive inside a file
(a CSV import). No web framework here.

- text: no control characters (NUL, escape, C1, lone surrogates); no line breaks in one-line fields
  (names, titles, labels, addresses, codes); no direction overrides and no names made only of
  invisible characters in one-line fields; at most the column's length;
- numbers: ids outside the id column's range are simply not found (404); other whole numbers must
  fit an integer column (400);
- language codes that are stored must name a real language.
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from babel import Locale, UnknownLocaleError
from piccolo.columns import Varchar
from piccolo.conf.apps import Finder

from planner.db import is_postgres
from planner.errors import PlannerError
from planner.i18n import _l

INT_MAX = 2**31 - 1  # PostgreSQL `integer`, the type of every counter and id column there
SQLITE_INT_MAX = 2**63 - 1

# Fields that hold one line of text. Everything else (descriptions, notes, reasons, answers, CSV)
# may hold line breaks and tabs, but no other control character.
ONE_LINE = {
    "name", "title", "label", "email", "care_email", "sku", "unit", "kind", "role", "timezone", "country",
    "code", "invite_code", "device", "scan_id", "phone", "sms", "url", "hours", "language", "languages", "status",
    "action", "bulk_action", "rsvp_mode", "promotion", "direction", "ref", "starts_at", "ends_at", "starts_on",
    "ends_on", "rsvp_deadline", "scanned_at", "password", "next", "lang", "day", "token", "invite",
}
# Columns shorter than this hold codes whose rules list the accepted values.
CODE_COLUMN = 30
# Free text with no column length of its own; generous, but not unbounded.
TEXT_MAX = 20_000
LONG_TEXT = {"csv": 2_000_000}
TOKEN_KEYS = {"token", "invite"}
TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
# Keys whose values are shared secrets compared elsewhere: never length-limited here, only cleaned.
SECRET_KEYS = {"password", "code", "_csrf_token", "csrf", "token", "invite", "invite_code"}
NUMERIC_PATH = re.compile(r"^(\d+)(\.[A-Za-z0-9]+)?$")
# Bidirectional embeddings, overrides and isolates: they can make a name display as something else.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that draw nothing even though Unicode does not call them spaces.
BLANKS = set("\u115f\u1160\u3164\uffa0\u2800\u180e")

LABELS = {
    "name": "The name", "title": "The title", "label": "The question", "email": "The email address",
    "description": "The description", "what_to_bring": "What to bring", "access_notes": "The access notes",
    "note": "The note", "reason": "The reason", "sku": "The SKU", "csv": "The list", "answers": "An answer",
}


def _column_limits() -> dict[str, int]:
    """Each field name's longest column among the tables: the database's own limits, read once."""
    limits: dict[str, int] = {}
    for table in Finder().get_table_classes():  # the app's tables, from Piccolo's own registry
        for column in table._meta.columns:
            if isinstance(column, Varchar):
                name = column._meta.name
                limits[name] = max(limits.get(name, 0), column.length)
    # Fields named differently at the boundary than in their table.
    limits.update({"title": limits.get("title", 200), "invite_code": 64, "host_name": 200})
    return limits


_LIMITS: dict[str, int] | None = None


def limits() -> dict[str, int]:
    global _LIMITS
    if _LIMITS is None:
        _LIMITS = _column_limits()
    return _LIMITS


def id_max() -> int:
    return INT_MAX if is_postgres() else SQLITE_INT_MAX


def label_of(key: str) -> str:
    return LABELS.get(key, f"The field “{key}”")


def is_id_key(key: str) -> bool:
    return key == "id" or key.endswith(("_id", "_ids"))


def refuse(message: str, key: str) -> PlannerError:
    return PlannerError(message, extra={"field": key})


def unknown_token() -> PlannerError:
    return PlannerError("This link is not valid. Open the link from your email again.", "not_found")


# ---------------------------------------------------------------- one value

def check_text(value: str, key: str) -> None:
    """A string at `key`: refused with a sentence if it could not be stored or shown safely."""
    one_line = key in ONE_LINE
    for ch in value:
        o = ord(ch)
        if o < 32 or 0x7f <= o <= 0x9f:
            if ch in "\n\r" and one_line:
                raise refuse(f"{label_of(key)} must be a single line: please remove the line break.", key)
            if ch in "\n\r\t" and not one_line:
                continue
            if ch == "\t" and one_line:
                raise refuse(f"{label_of(key)} must be a single line: please remove the tab.", key)
            raise refuse(f"{label_of(key)} contains an invisible control character (code {o}); please remove it.", key)
        if 0xD800 <= o <= 0xDFFF:
            raise refuse(f"{label_of(key)} contains a broken character; please type it again.", key)
        if one_line and ch in BIDI_CONTROLS:
            raise refuse(f"{label_of(key)} contains a hidden character that reverses the direction of the text; please remove it.", key)
    if one_line and value.strip() and not _visible(value) and key not in SECRET_KEYS:
        raise refuse(f"{label_of(key)} is made only of invisible characters; please type letters or digits.", key)
    if key in SECRET_KEYS:
        return
    limit = LONG_TEXT.get(key) or limits().get(key) or TEXT_MAX
    if limit < CODE_COLUMN:
        # A short code column (direction, kind, role, status): its rule names the values it takes,
        # which says more than a length would.
        limit = CODE_COLUMN
    if len(value) > limit:
        raise refuse(f"{label_of(key)} can be at most {limit:,} characters long (this one has {len(value):,}).", key)


def _visible(value: str) -> bool:
    for ch in value:
        if ch.isspace() or ch in BLANKS:
            continue
        if unicodedata.category(ch) in ("Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"):
            continue
        return True
    return False


def check_int(value: int, key: str) -> None:
    if is_id_key(key):
        if not 0 <= value <= id_max():
            raise PlannerError(_l("No record has the id {value}.", value=value), "not_found", extra={"field": key})
        return
    if not -INT_MAX <= value <= INT_MAX:
        raise refuse(f"{label_of(key)} is far too large a number.", key)


def check_language(code: Any, key: str) -> None:
    if not isinstance(code, str):
        return
    if not known_language(code):
        raise refuse(f"“{code[:20]}” is not a language code we know; use a code such as en, es or pt-BR.", key)


def known_language(code: str) -> bool:
    if not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", code or ""):
        return False
    try:
        Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


def check_value(value: Any, key: str) -> None:
    """Walk one decoded value (JSON or form) and check every string and number in it."""
    if isinstance(value, str):
        check_text(value, key)
        # isdecimal, not isdigit: "²".isdigit() is true, but int("²") fails.
        if is_id_key(key) and value.isascii() and value.isdecimal():
            check_int(int(value), key)
        if key in ("language", "languages"):
            for part in value.split(","):
                if part.strip():
                    check_language(part.strip(), key)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        check_int(value, key)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise refuse(f"{label_of(key)} must be a number.", key)
    elif isinstance(value, list):
        for item in value:
            check_value(item, key)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                check_text(k, "key")
            # Answers are keyed by question id; their values are free text.
            check_value(v, key if key in ("answers", "plus_ones") else str(k))
