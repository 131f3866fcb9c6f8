"""Check-in: a ticket admits once per slot; every other scan says when and by which device.

The admission is a conditional write (INSERT ... ON CONFLICT DO NOTHING on the unique
(rsvp, slot) key), never read-then-write; the kit hand-out and its ledger line go in the
same short transaction. Offline scans replay idempotently by scan id, and the earliest
scan of a ticket wins.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from planner.audit.rules import record
from planner.clock import stored_utc
from planner.db import free_pool, is_postgres, raw, write_transaction
from planner.errors import PlannerError
from planner.groupcommit import GroupCommit
from planner.i18n import _l
from planner.inventory.handout import SHELF, hand_out
from planner.inventory.levels import after_taking
from planner.tickets.decide import (
    ADMIT,
    ALREADY,
    GRACE_AFTER_END,
    MAX_REASON,
    REFUSE,
    REPLAY,
    SUPERSEDE,
    Scan,
    SlotTime,
    TicketRow,
    decide,
    existing_of,
    kit_state,
    result,
    scan_id_taken,
    unknown_code,
)

__all__ = ["GRACE_AFTER_END", "Scan", "admit", "parse_scan", "scan_batch", "scan_one"]

MAX_BATCH = 2000

# The ticket, its activity, slot, programme and kit, the scanner's role there, and the slot the
# scanner chose (when given). The one-statement path selects the same columns.
LOOKUP = """
SELECT r.id, r.name, r.guests, r.status, r.slot, r.activity, r.program,
       a.title, a.kit, a.space, a.kind, a.cancelled_at,
       s.starts_at AS slot_starts, s.ends_at AS slot_ends,
       p.timezone, k.name AS kit_name, k.low_stock_at AS kit_low, m.role,
       ss.id AS scan_slot_id, ss.activity AS scan_slot_activity, ss.starts_at AS scan_slot_starts, ss.ends_at AS scan_slot_ends
FROM rsvp r
JOIN activity a ON a.id = r.activity
JOIN slot s ON s.id = r.slot
JOIN program p ON p.id = r.program
LEFT JOIN item k ON k.id = a.kit
LEFT JOIN membership m ON m.program = r.program AND m."user" = {}
LEFT JOIN slot ss ON ss.id = {}
WHERE r.ticket_code = {}
"""

INSERT = """
INSERT INTO checkin (program, rsvp, slot, checked_in_at, device, scan_id, "user", online, party, kit, created_at,
                     override_reason, override_slot)
VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})
ON CONFLICT DO NOTHING
RETURNING id
"""


def _parse_at(at: Any, now: datetime) -> datetime | None:
    if not at:
        return None
    try:
        scanned_at = stored_utc(datetime.fromisoformat(str(at).replace("Z", "+00:00"))).astimezone(timezone.utc)
    except ValueError:
        raise PlannerError("scanned_at must be an ISO 8601 time.", extra={"field": "scanned_at"}) from None
    # A device clock far ahead would let a scan "win" against real earlier ones.
    return now if scanned_at > now + timedelta(minutes=10) else scanned_at


def parse_scan(item: Any, *, now: datetime) -> Scan:
    if not isinstance(item, dict):
        raise PlannerError("Each scan must be an object with a code.")
    code = item.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 200:
        raise PlannerError("A scan needs the ticket code.", extra={"field": "code"})
    scan_id = item.get("scan_id")
    if scan_id is not None and (not isinstance(scan_id, str) or not 1 <= len(scan_id) <= 100):
        raise PlannerError("scan_id must be a text of 1 to 100 characters.", extra={"field": "scan_id"})
    slot = item.get("slot_id")
    if slot in ("", None):
        slot_id = None
    else:
        try:
            slot_id = int(slot)
        except (TypeError, ValueError):
            raise PlannerError("slot_id must be a slot id.", extra={"field": "slot_id"}) from None
    override = item.get("override")
    if override not in (None, True, False):
        raise PlannerError("override must be true or false.", extra={"field": "override"})
    reason = ""
    if override:
        given = item.get("reason")
        reason = " ".join(given.split()) if isinstance(given, str) else ""
        if not reason:
            raise PlannerError("To admit anyway, give a reason, such as “missed their time, room in this one”.",
                               extra={"field": "reason"})
        if len(reason) > MAX_REASON:
            raise PlannerError(_l("The reason can be at most {n} characters.", n=MAX_REASON), extra={"field": "reason"})
    return Scan(code=code.strip(), scan_id=scan_id, scanned_at=_parse_at(item.get("scanned_at"), now), slot_id=slot_id,
                override=bool(override), reason=reason)


async def require_scanner(user: dict | None) -> None:
    """Scanning needs a staff or organizer role in at least one programme (the ticket's is checked per scan)."""
    if user is None:
        raise PlannerError("Log in as staff to scan tickets.", "unauthorized")


async def _has_any_role(user_id: int) -> bool:
    rows = await raw('SELECT 1 FROM membership WHERE "user" = {} LIMIT 1', user_id)
    return bool(rows)


async def _residency_slots(activity_id: int) -> tuple[SlotTime, ...]:
    rows = await raw("SELECT id, activity, starts_at, ends_at FROM slot WHERE activity = {} ORDER BY starts_at, id", activity_id)
    return tuple(SlotTime(id=r["id"], activity=r["activity"], starts_at=stored_utc(r["starts_at"]), ends_at=stored_utc(r["ends_at"]))
                 for r in rows)


async def _admitted_anyway(t: TicketRow, d: Any, user: dict, device: str, now: datetime) -> None:
    await record("admitted_anyway", now=now, program_id=t.program, actor=user, subject=f"rsvp {t.id}",
                 detail=f"slot {d.scanned_slot.id} instead of {t.slot} ({device or 'a scanner'}): {d.reason}")


async def admit(scan: Scan, *, user: dict, device: str, now: datetime, online: bool = True,
                grace: timedelta = GRACE_AFTER_END) -> dict:
    """The careful path: fetch, decide, write. Call inside write_transaction()."""
    rows = await raw(LOOKUP, user["id"], scan.slot_id, scan.code)
    if not rows:
        if not await _has_any_role(user["id"]):
            raise PlannerError("Scanning needs a staff or organizer role in this programme.", "forbidden")
        return unknown_code()
    t = TicketRow.of(rows[0])
    if t.kind == "residency" and scan.slot_id is None:
        t = TicketRow.of(rows[0], day_slots=await _residency_slots(t.activity))
    d = decide(t, scan, now, grace=grace)
    if d.action != ADMIT:
        return result(d, t)
    anyway = d.scanned_slot
    inserted = await raw(INSERT, t.program, t.id, d.slot_id, d.at, device[:100], scan.scan_id, user["id"], online, t.party,
                         kit_state(t), now, d.reason, anyway.id if anyway else None)
    if not inserted:
        return await _repeat(t, scan, d.slot_id, device=device, now=now, grace=grace)
    checkin_id = inserted[0]["id"]
    if anyway is not None:
        await _admitted_anyway(t, d, user, device, now)
    handed = None
    if t.kit is not None:
        done = await hand_out(item_id=t.kit, quantity=t.party, program_id=t.program, low_stock_at=t.kit_low,
                              ref=f"checkin:{checkin_id}", user_id=user["id"], now=now, space_id=t.space)
        handed = done.handed_out
        if not handed:
            await raw("UPDATE checkin SET kit = 'none_left' WHERE id = {}", checkin_id)
    return result(d, t, kit_handed_out=handed)


async def _repeat(t: TicketRow, scan: Scan, slot_id: int, *, device: str, now: datetime, grace: timedelta) -> dict:
    """The admission conflicted: decide again knowing the admission already recorded."""
    # Lock the admission row first: concurrent late uploads of earlier scans then queue here
    # instead of deadlocking between the conflict insert and the update.
    lock = " FOR UPDATE" if is_postgres() else ""
    rows = await raw("SELECT id, checked_in_at, device, scan_id FROM checkin WHERE rsvp = {} AND slot = {}" + lock, t.id, slot_id)
    existing = existing_of(rows[0] if rows else None)
    if existing is None:
        return scan_id_taken()
    t = replace(t, existing=existing)
    d = decide(t, scan, now, grace=grace)
    if d.action == SUPERSEDE:
        # The earliest scan wins; keep the other as a conflict.
        await raw("INSERT INTO scan_conflict (checkin, program, scan_id, device, scanned_at, created_at) VALUES ({}, {}, {}, {}, {}, {})",
                  existing.id, t.program, existing.scan_id or "", existing.device or "", existing.checked_in_at, now)
        await raw("UPDATE checkin SET checked_in_at = {}, device = {}, scan_id = {}, online = {} WHERE id = {}",
                  d.at, device[:100], scan.scan_id, False, existing.id)
    return result(d, t)


# PostgreSQL: the whole scan (bearer token, programme scope, ticket, admission, kit and its ledger
# line, or the earlier admission of a repeat) in one statement; measured about 2x faster than the
# same work as separate round trips. It only fetches and writes: its WHERE in `ok` is decide()'s
# ADMIT for a timed slot, and decide() judges the row it returns. $1 is a user id, or NULL with $9
# the bearer token's hash; $10 the grace after a slot's end.
FAST_SCAN = """
WITH u AS (
  SELECT $1::bigint AS id WHERE $1::bigint IS NOT NULL
  UNION ALL
  SELECT "user" FROM api_token WHERE $1::bigint IS NULL AND token_hash = $9 AND expires_at > $7
),
t AS (
  SELECT r.id, r.name, r.guests, r.status, r.slot, r.activity, r.program,
         a.title, a.kit, a.space, a.kind, a.cancelled_at,
         s.starts_at AS slot_starts, s.ends_at AS slot_ends, p.timezone, k.name AS kit_name, k.low_stock_at AS kit_low, m.role,
         ss.id AS scan_slot_id, ss.activity AS scan_slot_activity, ss.starts_at AS scan_slot_starts, ss.ends_at AS scan_slot_ends,
         (SELECT id FROM u) AS user_id
  FROM rsvp r
  JOIN activity a ON a.id = r.activity
  JOIN slot s ON s.id = r.slot
  JOIN program p ON p.id = r.program
  LEFT JOIN item k ON k.id = a.kit
  LEFT JOIN membership m ON m.program = r.program AND m."user" = (SELECT id FROM u)
  LEFT JOIN slot ss ON ss.id = $8::bigint
  WHERE r.ticket_code = $2
),
ok AS (
  SELECT * FROM t
  WHERE role IS NOT NULL AND status = 'confirmed' AND cancelled_at IS NULL AND kind <> 'residency'
    AND ($8::bigint IS NULL OR $8::bigint = slot) AND $3 <= slot_ends + $10::interval
),
ins AS (
  INSERT INTO checkin (program, rsvp, slot, checked_in_at, device, scan_id, "user", online, party, kit, created_at)
  SELECT program, id, slot, $3, $4, $5, user_id, $6, 1 + guests,
         CASE WHEN kit IS NULL THEN 'none' ELSE 'handed_out' END, $7
  FROM ok
  ON CONFLICT DO NOTHING
  RETURNING id, party
),
stock AS (
  UPDATE stock_level sl SET on_hand = sl.on_hand - ins.party
  FROM ins, ok
  WHERE ok.kit IS NOT NULL AND sl.item = ok.kit AND sl.on_hand >= ins.party
    AND sl.location = """ + SHELF.format(space="ok.space") + """
  RETURNING sl.location, sl.item
),
ledger AS (
  INSERT INTO stock_movement (program, item, location, quantity, kind, reason, ref, "user", created_at)
  SELECT ok.program, stock.item, stock.location, -ins.party, 'hand_out', '', 'checkin:' || ins.id, ok.user_id, $7
  FROM stock, ins, ok
  RETURNING id
)
SELECT t.*, (SELECT id FROM ins) AS checkin_id, (SELECT count(*) FROM ledger) AS kit_taken,
       CASE WHEN t.kit IS NULL THEN 0 ELSE (SELECT coalesce(sum(on_hand), 0) FROM stock_level WHERE item = t.kit) END AS kit_before,
       c.id AS existing_id, c.checked_in_at AS existing_checked_in_at, c.device AS existing_device, c.scan_id AS existing_scan_id
FROM t LEFT JOIN checkin c ON c.rsvp = t.id AND c.slot = t.slot
"""


class NeedsCarefulPath(Exception):
    """The one statement could not decide; carries the user it resolved."""

    def __init__(self, user: dict | None) -> None:
        self.user = user


async def _fast_scan(scan: Scan, *, user: dict | None, token_hash: str | None, device: str, now: datetime,
                     conn: Any = None, grace: timedelta = GRACE_AFTER_END) -> dict:
    """Judge a scan in one round trip on PostgreSQL, or raise NeedsCarefulPath. With `conn` (an offline
    batch's transaction) on that connection; otherwise grouped with the scans arriving at the same
    moment into one commit (see planner.groupcommit)."""
    if scan.override:
        raise NeedsCarefulPath(user)  # admitting anyway is rare and audited: the careful path writes it

    async def write(c: Any) -> tuple[dict, Any]:
        return await _scan_statement(c, scan, user=user, token_hash=token_hash, device=device, now=now, grace=grace)

    if conn is not None:
        out, after = await write(conn)
        if after is not None:
            await after()
        return out
    pool = free_pool()
    if pool is None:
        raise NeedsCarefulPath(user)
    return await SCANS.run(write, pool, key=scan.code)


def _lock_shelves(codes: list[str]) -> str | None:
    """Sent with a group of scans' BEGIN: lock the kit shelves its tickets take from, in id order, so that
    groups in several processes (and their check-in rows, taken in code order after) cannot deadlock.
    Only codes a ticket can have are written into it (URL-safe letters): nothing to quote."""
    safe = sorted({c for c in codes if _CODE.fullmatch(c)})
    if not safe:
        return None
    return LOCK_SHELVES.format(codes=", ".join(f"'{c}'" for c in safe))


_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
LOCK_SHELVES = """
SELECT sl.id FROM stock_level sl WHERE sl.id IN (
  SELECT sl2.id FROM rsvp r JOIN activity a ON a.id = r.activity
  JOIN stock_level sl2 ON sl2.item = a.kit AND sl2.location = """ + SHELF.format(space="a.space").replace("{", "{{").replace("}", "}}") + """
  WHERE r.ticket_code IN ({codes})
) ORDER BY sl.id FOR UPDATE
"""

# Scans arriving at the same moment in this process share one transaction and one commit.
SCANS: GroupCommit[dict] = GroupCommit("scan", before=_lock_shelves)


async def _scan_statement(conn: Any, scan: Scan, *, user: dict | None, token_hash: str | None, device: str,
                          now: datetime, grace: timedelta) -> tuple[dict, Any]:
    """The one statement on `conn`, judged by decide(): (result, what to do after the commit). Raises
    (NeedsCarefulPath, or PlannerError for a bad token) only when the statement wrote nothing."""
    at = scan.scanned_at or now
    args = (user["id"] if user else None, scan.code, at, device[:100], scan.scan_id, scan.scanned_at is None, now,
            scan.slot_id, token_hash, grace)
    row = await conn.fetchrow(FAST_SCAN, *args)
    if row is None:
        raise NeedsCarefulPath(user)  # unknown code (or a bad token): the careful path explains
    if row["user_id"] is None:
        raise PlannerError("The bearer token is not valid, has expired or was revoked.", "unauthorized")
    user = user or {"id": row["user_id"]}
    if row["kind"] == "residency" or row["role"] is None:
        raise NeedsCarefulPath(user)  # a residency needs its days; an outsider gets the careful path's answer
    inserted = row["checkin_id"] is not None
    t = TicketRow.of(row, existing=None if inserted else existing_of(row, "existing_"))
    d = decide(t, scan, now, grace=grace)
    if inserted:
        if d.action != ADMIT:
            raise RuntimeError(f"the one-statement scan admitted what decide() says to {d.action}")
        handed, after = None, None
        if t.kit is not None:
            handed = bool(row["kit_taken"])
            if handed:
                after = partial(after_taking, t.kit, before=int(row["kit_before"]), taken=t.party, line=t.kit_low, now=now)
            else:
                await conn.execute("UPDATE checkin SET kit = 'none_left' WHERE id = $1", row["checkin_id"])
        return result(d, t, kit_handed_out=handed), after
    if d.action in (REFUSE, REPLAY, ALREADY):
        return result(d, t), None
    raise NeedsCarefulPath(user)  # an admission it could not write (a race, a scan id reused), or an earlier offline scan


async def _user_from_token(token_hash: str, now: datetime) -> dict:
    rows = await raw('SELECT u.id, u.email FROM api_token t JOIN planner_user u ON u.id = t."user" '
                     "WHERE t.token_hash = {} AND t.expires_at > {}", token_hash, now)
    if not rows:
        raise PlannerError("The bearer token is not valid, has expired or was revoked.", "unauthorized")
    return {"id": rows[0]["id"], "email": rows[0]["email"]}


async def scan_one(item: dict, *, user: dict | None, device: str, now: datetime, token_hash: str | None = None) -> dict:
    """One scan. Pass the user, or (the fast way, PostgreSQL) the bearer token's hash."""
    if user is None and token_hash is None:
        raise PlannerError("Log in as staff to scan tickets.", "unauthorized")
    scan = parse_scan(item, now=now)
    if is_postgres():
        try:
            return await _fast_scan(scan, user=user, token_hash=token_hash, device=device, now=now)
        except NeedsCarefulPath as careful:
            user = careful.user
    if user is None or (scan.override and "email" not in user):
        user = await _user_from_token(token_hash, now)
    async with write_transaction():
        return await admit(scan, user=user, device=device, now=now, online=scan.scanned_at is None)


async def scan_batch(items: Any, *, user: dict | None, device: str, now: datetime) -> list[dict]:
    """Offline scans replayed in one transaction; results in the order given. A bad item gets its own error result."""
    await require_scanner(user)
    if not await _has_any_role(user["id"]):
        raise PlannerError("Scanning needs a staff or organizer role in this programme.", "forbidden")
    if not isinstance(items, list):
        raise PlannerError("scans must be a list.")
    if len(items) > MAX_BATCH:
        raise PlannerError(_l("Send at most {n} scans at once.", n=MAX_BATCH))
    parsed: list[Scan | PlannerError] = []
    for item in items:
        try:
            s = parse_scan(item, now=now)
            if s.scan_id is None:
                raise PlannerError("Offline scans need a scan_id so a replay is recognised.", extra={"field": "scan_id"})
            parsed.append(s)
        except PlannerError as exc:
            parsed.append(exc)
    results: list[dict | None] = [None] * len(parsed)
    # Apply earliest first, so the earliest of two devices' scans admits without a later correction.
    order = sorted(range(len(parsed)), key=lambda i: (parsed[i].scanned_at or now) if isinstance(parsed[i], Scan) else now)
    fast = is_postgres()
    async with write_transaction() as tx:
        for i in order:
            p = parsed[i]
            if isinstance(p, PlannerError):
                results[i] = {"result": "error", "message": p.text}
                continue
            try:
                if fast:
                    try:
                        results[i] = await _fast_scan(p, user=user, token_hash=None, device=device, now=now, conn=tx.connection)
                        continue
                    except NeedsCarefulPath:
                        pass
                results[i] = await admit(p, user=user, device=device, now=now, online=False)
            except PlannerError as exc:
                results[i] = {"result": "error", "message": exc.message}
    for r, p in zip(results, parsed):
        if isinstance(p, Scan) and r is not None:
            r["scan_id"] = p.scan_id
    return results  # type: ignore[return-value]
