"""Inside now: door staff count people in and out of a space that counts presence.

`Space.inside` moves only by conditional updates (never below zero; "in" refused once the
space is full unless forced), and each tap is logged in `presence_scan` in the same
transaction. A tap sent again with the same scan id (a retry after a dropped network) is
answered with the current count and moves nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from planner.db import raw, write_transaction
from planner.errors import PlannerError, not_found
from planner.i18n import _l
from planner.programs.rules import require_role
from planner.scheduling.tables import Space
from planner.tickets.tables import PresenceScan

MOVE = {
    "in": "UPDATE space SET inside = inside + 1 WHERE id = {} AND inside < capacity RETURNING id, name, inside, capacity",
    "in_forced": "UPDATE space SET inside = inside + 1 WHERE id = {} RETURNING id, name, inside, capacity",
    "out": "UPDATE space SET inside = inside - 1 WHERE id = {} AND inside > 0 RETURNING id, name, inside, capacity",
}
LOG = "INSERT INTO presence_scan (space, direction, at, device, scan_id) VALUES ({}, {}, {}, {}, {}) ON CONFLICT DO NOTHING RETURNING id"


def warning_level(inside: int, capacity: int) -> bool:
    """True from 90 % of capacity: time to warn the door before it is full."""
    return inside * 10 >= capacity * 9


def space_state(s: dict) -> dict:
    return {
        "space_id": s["id"], "name": s["name"], "inside": s["inside"], "capacity": s["capacity"],
        "warning": warning_level(s["inside"], s["capacity"]), "full": s["inside"] >= s["capacity"],
    }


def _space_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise not_found("That space") from None


async def _space(space_id: Any, user: dict | None) -> dict:
    s = await Space.select(Space.id, Space.program, Space.name, Space.inside, Space.capacity, Space.counts_presence).where(
        Space.id == _space_id(space_id)).first()
    if not s:
        raise not_found("That space")
    await require_role(user, s["program"], "organizer", "staff")
    return s


def _out(s: dict, **extra: Any) -> dict:
    return {**space_state(s), "program_id": s["program"], **extra}


async def get_presence(space_id: Any, *, user: dict | None) -> dict:
    s = await _space(space_id, user)
    return _out(s, counts_presence=s["counts_presence"])


def parse_move(data: dict) -> tuple[str, str | None, str | None, bool]:
    direction = data.get("direction")
    if direction not in ("in", "out"):
        raise PlannerError('direction must be "in" or "out".', extra={"field": "direction"})
    scan_id = data.get("scan_id")
    if scan_id in ("", None):
        scan_id = None
    elif not isinstance(scan_id, str) or len(scan_id) > 100:
        raise PlannerError("scan_id must be a text of 1 to 100 characters.", extra={"field": "scan_id"})
    code = data.get("code")
    if code in ("", None):
        code = None
    elif not isinstance(code, str) or len(code) > 200:
        raise PlannerError("code must be a ticket code.", extra={"field": "code"})
    force = data.get("force") in (True, "true", "1", "on")
    return direction, scan_id, code, force


async def move(space_id: Any, data: dict, *, user: dict | None, device: str, now: datetime) -> dict:
    """One tap at the door. Answers the space's count after it; 409 when "in" would pass capacity."""
    direction, scan_id, code, force = parse_move(data)
    s = await _space(space_id, user)
    if not s["counts_presence"]:
        raise PlannerError(_l("{space} does not count people inside; an organizer can switch that on for the space.", space=s["name"]), "conflict")
    if code is not None:
        # A ticket shown at the door must be a confirmed ticket of this programme; who went in is not kept.
        ok = await raw("SELECT 1 FROM rsvp WHERE ticket_code = {} AND program = {} AND status = 'confirmed'", code.strip(), s["program"])
        if not ok:
            raise PlannerError("This code is not a confirmed ticket of this programme.", extra={"field": "code"})
    async with write_transaction():
        logged = await raw(LOG, s["id"], direction, now, (device or "")[:100], scan_id)
        if not logged:
            # This scan id was seen before: answer the count as it is now, move nothing.
            first = await PresenceScan.select(PresenceScan.space, PresenceScan.direction).where(PresenceScan.scan_id == scan_id).first()
            if first is None or first["space"] != s["id"]:
                raise PlannerError("This scan id was already used at another space.", "conflict", extra={"field": "scan_id"})
            current = await Space.select(Space.id, Space.program, Space.name, Space.inside, Space.capacity).where(Space.id == s["id"]).first()
            return _out(current, changed=False, replay=True, direction=first["direction"])
        key = "out" if direction == "out" else ("in_forced" if force else "in")
        moved = await raw(MOVE[key], s["id"])
        if moved:
            return _out({**moved[0], "program": s["program"]}, changed=True, direction=direction)
        current = await Space.select(Space.id, Space.program, Space.name, Space.inside, Space.capacity).where(Space.id == s["id"]).first()
        if direction == "out":
            # Nobody counted inside: the count stays at zero (the tap is still logged).
            return _out(current, changed=False, direction=direction)
        # Raising rolls the logged tap back, so the same scan id can be sent again with force.
        raise PlannerError(
            _l("{space} is full ({inside} of {capacity}). Let someone out first, or admit anyway.",
               space=current["name"], inside=current["inside"], capacity=current["capacity"]),
            "conflict", extra={**space_state(current), "result": "full"},
        )
