"""Small input and column helpers shared by the rules modules."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
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


def text(data: dict, key: str, label: str, *, required: bool = True, max_len: int = 200) -> str:
    """A trimmed text field within a length; a clear 400 naming the field otherwise."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise PlannerError(_l("{label} is required.", label=_l(label)), extra={"field": key})
        return ""
    if not isinstance(value, str):
        raise PlannerError(_l("{label} must be text.", label=_l(label)), extra={"field": key})
    value = value.strip()
    if len(value) > max_len:
        raise PlannerError(_l("{label} can be at most {max_len} characters.", label=_l(label), max_len=max_len), extra={"field": key})
    return value


def row_id(value: Any, label: str) -> int:
    """An id given in a body or a form."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    except (TypeError, ValueError) as exc:
        raise PlannerError(_l("{label} is not a valid id.", label=label)) from exc


# ---------------------------------------------------------------- CSV in and out

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer whose every text cell, headers included, is formula-safe: the one way exports write."""

    def __init__(self, buf: Any) -> None:
        self._w = csv.writer(buf)

    def writerow(self, row: list[Any]) -> None:
        self._w.writerow([formula_safe(c) for c in row])


def csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each row of an uploaded CSV. A carriage return that does not end a
    line (a file saved half in old Mac style, or a pasted cell) is refused with its line number."""
    text = (text or "").lstrip("\ufeff")
    stray = re.search(r"\r(?!\n)", text)
    if stray:
        line = text.count("\n", 0, stray.start()) + text.count("\r", 0, stray.start()) - text.count("\r\n", 0, stray.start()) + 1
        raise PlannerError(
            _l("Line {line} has a stray carriage return (CR) in it. Save the file again as CSV (UTF-8) and upload it again.", line=line),
            extra={"problems": [{"line": line, "error": _l("Stray carriage return.")}]},
        )
    reader = csv.reader(io.StringIO(text))
    ended = 0
    try:
        for row in reader:
            # The line a row starts on: a quoted cell may run over several lines.
            yield ended + 1, row
            ended = reader.line_num
    except csv.Error as exc:
        raise PlannerError(_l("Line {line} cannot be read as CSV: {problem}.", line=reader.line_num, problem=str(exc)),
                           extra={"problems": [{"line": reader.line_num, "error": str(exc)}]}) from None
