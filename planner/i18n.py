"""gettext for guests' strings. Catalogues live in planner/locale; English is the source language."""
from __future__ import annotations

import gettext as _gettext
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"


@lru_cache(maxsize=32)
def translations(lang: str) -> _gettext.NullTranslations:
    return _gettext.translation("messages", localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def available() -> list[str]:
    langs = [DEFAULT]
    if LOCALE_DIR.is_dir():
        langs += sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / "messages.mo").exists())
    return langs


def pick_language(accept: str | None, offered: list[str] | None = None) -> str:
    have = set(available())
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in have and (not offered or code in offered or code == DEFAULT):
            return code
    return DEFAULT


def _(message: str) -> str:
    """Mark a string for translation; rendered in the request's language by the templates."""
    return message
