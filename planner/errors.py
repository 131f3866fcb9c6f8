"""The one domain exception. Rules raise it; the app maps it to HTTP in one place."""
from __future__ import annotations

from typing import Any

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
    def __init__(self, message: str, code: str = "invalid", extra: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra

    @property
    def status_code(self) -> int:
        return STATUS.get(self.code, 400)


def not_found(what: str) -> PlannerError:
    return PlannerError(f"{what} was not found.", "not_found")
