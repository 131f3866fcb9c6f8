"""Jinja setup: gettext in the request's language, and small filters for times."""
from __future__ import annotations

import contextvars
from datetime import datetime
from zoneinfo import ZoneInfo

from planner.i18n import translations

current_language: contextvars.ContextVar[str] = contextvars.ContextVar("current_language", default="en")


def _gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def local_time(value: datetime | None, tz: str, fmt: str = "%a %d %b, %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def configure_engine(engine) -> None:
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.filters["local"] = local_time
    env.globals["lang"] = current_language.get
