"""One throttle for every place that guesses can be made: logins, unknown guest tokens, invite codes,
RSVPs. Attempts are rows in the database, so every worker and process counts the same ones.

A caller names its limits (a key, how many attempts, over what window), checks them before doing
the work and counts an attempt when it should count (a failed login, an unknown token). A limit
that is reached answers 429 with how long to wait; nothing else is changed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from planner.clock import stored_utc
from planner.db import is_postgres, raw, write_transaction
from planner.errors import PlannerError
from planner.i18n import LazyText, _l, _nl
from planner.throttle.tables import ThrottleHit

KEY_MAX = 300


@dataclass(frozen=True)
class Limit:
    key: str
    attempts: int
    window: timedelta

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.key[:KEY_MAX])


def wait_words(seconds: int) -> LazyText:
    if seconds < 90:
        return _nl("{n} second", "{n} seconds", max(1, seconds))
    return _nl("{n} minute", "{n} minutes", math.ceil(seconds / 60))


async def wait_needed(limit: Limit, *, now: datetime) -> int:
    """Seconds until one more attempt is allowed under this limit (0 when it is allowed now)."""
    since = now - limit.window
    # Raw SQL: it runs before every RSVP and guest-link request, where the query builder's cost showed.
    rows = await raw('SELECT "at" FROM throttle_hit WHERE "key" = {} AND "at" > {} ORDER BY "at" DESC LIMIT {}',
                     limit.key, since, limit.attempts)
    if len(rows) < limit.attempts:
        return 0
    # The oldest of the last `attempts` hits must leave the window before another attempt.
    oldest = stored_utc(rows[-1]["at"])
    return max(1, math.ceil((oldest + limit.window - now).total_seconds()))


async def check(*limits: Limit, now: datetime, message: str | LazyText) -> None:
    """Refuse (429) when any limit is reached. `message` names who is limited; the wait is added to it."""
    wait = 0
    for limit in limits:
        wait = max(wait, await wait_needed(limit, now=now))
    if wait:
        raise PlannerError(_l("{message} Please wait {wait} and try again.", message=_l(message) if isinstance(message, str) else message,
                              wait=wait_words(wait)), "throttled",
                           extra={"retry_after": wait})


async def take(*limits: Limit, count: str, now: datetime, message: str | LazyText) -> None:
    """Check the limits and count one attempt under `count` in a single statement (it runs on the
    RSVP hot path): the row is written only if every limit still has room, else 429 as `check`."""
    conditions = " AND ".join(
        '(SELECT COUNT(*) FROM throttle_hit WHERE "key" = {} AND "at" > {}) < {}' for _ in limits)
    args: list = []
    for limit in limits:
        args += [limit.key, now - limit.window, limit.attempts]
    values = "CAST({} AS VARCHAR), CAST({} AS TIMESTAMPTZ)" if is_postgres() else "{}, {}"
    written = await raw(f'INSERT INTO throttle_hit ("key", "at") SELECT {values} WHERE {conditions} RETURNING id',
                        count[:KEY_MAX], now, *args)
    if not written:
        await check(*limits, now=now, message=message)


async def take_strict(*limits: Limit, now: datetime, message: str | LazyText) -> list[int]:
    """Check the limits and count one attempt under each of their keys, serialised per client (the
    first limit's key) so that concurrent attempts cannot all pass the check before any is counted.
    Returns the rows written, for `forget` when the attempt turns out to be a good one."""
    async with write_transaction():
        if is_postgres():
            # On SQLite the IMMEDIATE transaction already serialises every writer.
            await raw("SELECT pg_advisory_xact_lock(hashtext({}))", limits[0].key)
        await check(*limits, now=now, message=message)
        rows = await ThrottleHit.insert(*(ThrottleHit(key=limit.key, at=now) for limit in limits)).returning(ThrottleHit.id)
    return [r["id"] for r in rows]


async def forget(ids: list[int]) -> None:
    if ids:
        await ThrottleHit.delete().where(ThrottleHit.id.is_in(ids))


async def prune(*, now: datetime, keep: timedelta = timedelta(days=1)) -> None:
    """Forget attempts older than any window."""
    await ThrottleHit.delete().where(ThrottleHit.at < now - keep)


async def count(key: str, *, now: datetime, window: timedelta) -> int:
    return await ThrottleHit.count().where((ThrottleHit.key == key[:KEY_MAX]) & (ThrottleHit.at > now - window))


async def hit(*keys: str, now: datetime) -> None:
    """Count one attempt under each key."""
    await ThrottleHit.insert(*(ThrottleHit(key=k[:KEY_MAX], at=now) for k in keys))


async def clear(*keys: str) -> None:
    await ThrottleHit.delete().where(ThrottleHit.key.is_in([k[:KEY_MAX] for k in keys]))
