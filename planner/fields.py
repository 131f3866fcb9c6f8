"""Small input and column helpers shared by the rules modules."""
from __future__ import annotations

import json
from typing import Any

from planner.errors import PlannerError
from planner.i18n import _l


def loads(value: Any) -> Any:
    """JSON columns come back as text from a plain select; decode them once here."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def whole(value: Any, label: str, field: str, *, minimum: int, maximum: int) -> int:
    """A whole number within bounds, from an int or a numeric string; a clear 400 otherwise."""
    if value is None or value == "":
        raise PlannerError(_l("{label} is required.", label=_l(label)), extra={"field": field})
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PlannerError(_l("{label} must be a whole number.", label=_l(label)), extra={"field": field})
    try:
        number = int(value)
    except ValueError as exc:
        raise PlannerError(_l("{label} must be a whole number.", label=_l(label)), extra={"field": field}) from exc
    if number < minimum or number > maximum:
        raise PlannerError(_l("{label} must be between {minimum} and {maximum}.", label=_l(label), minimum=minimum, maximum=maximum), extra={"field": field})
    return number
