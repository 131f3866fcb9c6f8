"""Input hygiene at the boundary: every request's path, query, form and JSON values pass through
`check_request()` before any handler runs, the same way on both engines. What is refused, and the
sentences that say so, are in planner/inputs.py; here: walking the request, and tokens (`token=`,
`invite=`), where anything that is not a token's shape is an unknown token (404).

Rules keep their own checks of meaning (a valid email, a known time zone); this module only makes
sure no value reaches them, or the database, in a shape that could not be stored or shown safely.
"""
from __future__ import annotations

import hmac
from typing import Any

import msgspec
from litestar import Request
from litestar._parsers import parse_url_encoded_form_data
from litestar.middleware.csrf import generate_csrf_hash

from planner.errors import PlannerError
from planner.inputs import (
    NUMERIC_PATH,
    SECRET_KEYS,
    TOKEN_KEYS,
    TOKEN_RE,
    check_text,
    check_value,
    id_max,
    is_id_key,
    label_of,
    refuse,
    unknown_token,
)

# ---------------------------------------------------------------- the request

def _check_path(request: Request) -> None:
    for value in request.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= id_max():
                raise PlannerError("That page was not found.", "not_found")
        elif isinstance(value, str):
            if any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f for c in value):
                raise PlannerError("That page was not found.", "not_found")
            m = NUMERIC_PATH.match(value)
            if m and int(m.group(1)) > id_max():
                raise PlannerError("That page was not found.", "not_found")


def _check_pairs(pairs: list[tuple[str, Any]], *, query: bool = False) -> None:
    for key, value in pairs:
        if key in TOKEN_KEYS:
            if isinstance(value, str) and value and not TOKEN_RE.match(value):
                raise unknown_token()
            continue
        if isinstance(value, str) and key not in ("language", "languages") and not is_id_key(key):
            check_text(value, key)
            # A query's numbers (limit, position, day offsets) go straight to the database.
            if query and value.isascii() and value.lstrip("-").isdecimal() and len(value) > 10 and key not in SECRET_KEYS:
                raise refuse(f"{label_of(key)} is far too large a number.", key)
            continue
        check_value(value, key)


async def check_request(request: Request) -> None:
    """Refuse a request whose inputs could not be stored or shown safely (see the module's docstring)."""
    path = request.url.path
    if path.startswith(("/static/", "/schema")):
        return
    _check_path(request)
    _check_pairs(list(request.query_params.multi_items()), query=True)
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
