"""Jinja setup: gettext in the request's language, and Babel filters for dates, times and numbers."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from planner import i18n, phones
from planner.i18n import current_language  # noqa: F401  (re-exported: pages set it here)
from planner.terms import term


def _gettext(message: str) -> str:
    return i18n.gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(singular, plural, n)


def local_time(value: datetime | str | None, tz: str, fmt: str = "medium") -> str:
    """A moment in the programme's time zone, written the way the page's language writes it."""
    return i18n.format_datetime(value, tz, fmt)


def lang_url(request, code: str, base: str | None = None) -> str:
    """This page's address in another language (its other parameters, such as a guest's token, kept).

    A page that answers a form (a message sent, data erased) has no address of its own to show again:
    it names one in `base` (set as `lang_base` in its template), where the switcher takes the guest instead
    of sending them to a form's address, which only takes POST."""
    if base:
        path, _, query = base.partition("?")
        params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "lang"]
        return path + "?" + urlencode([*params, ("lang", code)])
    if request is None:
        return f"?lang={code}"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + "?" + urlencode([*params, ("lang", code)])


def configure_engine(engine) -> None:
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.filters["local"] = local_time
    env.filters["date"] = i18n.format_date
    env.filters["time"] = i18n.format_time
    env.filters["number"] = i18n.format_number
    env.filters["term"] = term
    env.filters["text"] = i18n.text
    env.globals["when"] = i18n.format_when
    env.globals["lang"] = current_language.get
    env.globals["languages"] = i18n.available
    env.globals["language_name"] = i18n.language_name
    env.globals["lang_url"] = lang_url
    env.filters["stored"] = i18n.stored
    env.filters["tel"] = phones.tel
    env.filters["phones"] = phones.phone_numbers
    env.filters["first_number"] = phones.first_number
