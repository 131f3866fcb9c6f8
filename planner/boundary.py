"""Input hygiene at the boundary: every request's path, query, form and JSON values pass through
`check_request()` before any handler runs, the same way on both engines.

- text: no control characters (NUL, escape, C1, lone surrogates); no line breaks in one-line fields
  (names, titles, labels, addresses, codes); no direction overrides and no names made only of
  invisible characters in one-line fields; at most the column's length;
- numbers: ids outside the id column's range are simply not found (404); other whole numbers must
  fit an integer column (400);
- tokens (`token=`, `invite=`): anything that is not a token's shape is an unknown token (404);
- language codes that are stored (`language`, `languages`) must name a real language.

Rules keep their own checks of meaning (a valid email, a known time zone); this module only makes
sure no value reaches them, or the database, in a shape that could not be stored or shown safely.
"""
from __future__ import annotations

import hmac
import re
import unicodedata
from typing import Any

import msgspec
from babel import Locale, UnknownLocaleError
from litestar import Request
from litestar._parsers import parse_url_encoded_form_data
from litestar.middleware.csrf import generate_csrf_hash
from piccolo.columns import Varchar

from planner.db import is_postgres
from planner.errors import PlannerError
from planner.i18n import _l
from planner.piccolo_app import TABLES

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
    for table in TABLES:
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


def _label(key: str) -> str:
    return LABELS.get(key, f"The field “{key}”")


def _is_id_key(key: str) -> bool:
    return key == "id" or key.endswith("_id") or key.endswith("_ids")


def _bad(message: str, key: str) -> PlannerError:
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
                raise _bad(f"{_label(key)} must be a single line: please remove the line break.", key)
            if ch in "\n\r\t" and not one_line:
                continue
            if ch == "\t" and one_line:
                raise _bad(f"{_label(key)} must be a single line: please remove the tab.", key)
            raise _bad(f"{_label(key)} contains an invisible control character (code {o}); please remove it.", key)
        if 0xD800 <= o <= 0xDFFF:
            raise _bad(f"{_label(key)} contains a broken character; please type it again.", key)
        if one_line and ch in BIDI_CONTROLS:
            raise _bad(f"{_label(key)} contains a hidden character that reverses the direction of the text; please remove it.", key)
    if one_line and value.strip() and not _visible(value) and key not in SECRET_KEYS:
        raise _bad(f"{_label(key)} is made only of invisible characters; please type letters or digits.", key)
    if key in SECRET_KEYS:
        return
    limit = LONG_TEXT.get(key) or limits().get(key) or TEXT_MAX
    if len(value) > limit:
        raise _bad(f"{_label(key)} can be at most {limit:,} characters long (this one has {len(value):,}).", key)


def _visible(value: str) -> bool:
    for ch in value:
        if ch.isspace() or ch in BLANKS:
            continue
        if unicodedata.category(ch) in ("Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"):
            continue
        return True
    return False


def check_int(value: int, key: str) -> None:
    if _is_id_key(key):
        if not 0 <= value <= id_max():
            raise PlannerError(_l("No record has the id {value}.", value=value), "not_found", extra={"field": key})
        return
    if not -INT_MAX <= value <= INT_MAX:
        raise _bad(f"{_label(key)} is far too large a number.", key)


def check_language(code: Any, key: str) -> None:
    if not isinstance(code, str):
        return
    if not known_language(code):
        raise _bad(f"“{code[:20]}” is not a language code we know; use a code such as en, es or pt-BR.", key)


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
        if _is_id_key(key) and value.isdigit():
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
        if value != value or value in (float("inf"), float("-inf")):
            raise _bad(f"{_label(key)} must be a number.", key)
    elif isinstance(value, list):
        for item in value:
            check_value(item, key)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                check_text(k, "key")
            # Answers are keyed by question id; their values are free text.
            check_value(v, key if key in ("answers", "plus_ones") else str(k))


# ---------------------------------------------------------------- the request

def _check_path(request: Request) -> None:
    for key, value in request.path_params.items():
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= id_max():
                raise PlannerError("That page was not found.", "not_found")
        elif isinstance(value, str):
            if any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f for c in value):
                raise PlannerError("That page was not found.", "not_found")
            m = NUMERIC_PATH.match(value)
            if m and int(m.group(1)) > id_max():
                raise PlannerError("That page was not found.", "not_found")


def _check_pairs(pairs: list[tuple[str, Any]]) -> None:
    for key, value in pairs:
        if key in TOKEN_KEYS:
            if isinstance(value, str) and value and not TOKEN_RE.match(value):
                raise unknown_token()
            continue
        if isinstance(value, str) and key not in ("language", "languages") and not _is_id_key(key):
            check_text(value, key)
            if value.lstrip("-").isdigit() and len(value) > 10 and key not in SECRET_KEYS:
                raise _bad(f"{_label(key)} is far too large a number.", key)
            continue
        check_value(value, key)


async def check_request(request: Request) -> None:
    """Refuse a request whose inputs could not be stored or shown safely (see the module's docstring)."""
    path = request.url.path
    if path.startswith(("/static/", "/schema")):
        return
    _check_path(request)
    _check_pairs(list(request.query_params.multi_items()))
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        body = await request.body()
        if not body.strip():
            return
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return  # the handler answers 400 with the decoder's own words
        if isinstance(data, dict):
            _check_pairs(list(data.items()))
        else:
            check_value(data, "body")
    elif "application/x-www-form-urlencoded" in content_type:
        body = await request.body()
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise PlannerError("The form was not sent as UTF-8 text.") from None
        form = parse_url_encoded_form_data(body)
        pairs: list[tuple[str, Any]] = []
        for k, v in form.items():
            for item in (v if isinstance(v, list) else [v]):
                pairs.append((k, item))
        _check_pairs(pairs)


# ---------------------------------------------------------------- CSRF for the API with a session cookie

CSRF_SECRET_LENGTH = 64  # the hex random part of a Litestar CSRF token; its HMAC follows


def csrf_ok(header: str | None, cookie: str | None, secret: str) -> bool:
    """The API's check for cookie sessions, as strict as the forms': both tokens carry a valid
    signature under our secret, and their random parts are the same."""
    def secret_part(token: str | None) -> str | None:
        if not isinstance(token, str) or len(token) <= CSRF_SECRET_LENGTH or not token.isascii():
            return None
        part, mac = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        return part if hmac.compare_digest(mac, generate_csrf_hash(token=part, secret=secret)) else None

    a, b = secret_part(header), secret_part(cookie)
    return a is not None and b is not None and hmac.compare_digest(a, b)
