"""The one domain exception. Rules raise it; the app maps it to HTTP in one place.

Its message is translatable: a literal (`PlannerError("Log in first.", "unauthorized")`) or a lazy
text with parameters (`PlannerError(_l("{name} is full.", name=space["name"]))`). Rules stay free of
request state; `exc.message` turns the text into words in the language of the moment it is read
(the request's, or the guest's when mail is written), and `exc.english` is the source text for logs.
"""
from __future__ import annotations

from typing import Any

from planner.i18n import LazyText, _, _l

# code -> HTTP status
STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "clash": 409,
    "closed": 409,
    "insufficient_stock": 409,
    "gone": 410,
    "throttled": 429,
}


class PlannerError(Exception):
    def __init__(self, message: str | LazyText, code: str = "invalid", extra: Any = None) -> None:
        self.text = message if isinstance(message, LazyText) else LazyText(message)
        super().__init__(self.text.english())
        self.code = code
        self.extra = extra

    @property
    def message(self) -> str:
        """The message in the current language."""
        return self.text.render()

    @property
    def english(self) -> str:
        return self.text.english()

    @property
    def status_code(self) -> int:
        return STATUS.get(self.code, 400)

    @property
    def headers(self) -> dict[str, str] | None:
        """A throttled refusal says when to come back (Retry-After), pages and API alike."""
        if self.status_code == 429 and isinstance(self.extra, dict) and "retry_after" in self.extra:
            return {"Retry-After": str(self.extra["retry_after"])}
        return None


# The things `not_found()` is called with, each a whole sentence to translate (genders differ by language).
NOT_FOUND = {
    "That programme": _("That programme was not found."),
    "That space": _("That space was not found."),
    "That host": _("That host was not found."),
    "That activity": _("That activity was not found."),
    "That item": _("That item was not found."),
    "That kit": _("That kit was not found."),
    "That resource": _("That resource was not found."),
    "That RSVP": _("That RSVP was not found."),
    "That calendar": _("That calendar was not found."),
}


def not_found(what: str) -> PlannerError:
    sentence = NOT_FOUND.get(what)
    return PlannerError(sentence if sentence else _l("{what} was not found.", what=what), "not_found")
