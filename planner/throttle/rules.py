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

from planner.errors import PlannerError
from planner.throttle.tables import ThrottleHit

KEY_MAX = 300


@dataclass(frozen=True)
class Limit:
    key: str
    attempts: int
    window: timedelta

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.key[:KEY_MAX])


def wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{max(1, seconds)} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


async def wait_needed(limit: Limit, *, now: datetime) -> int:
    """Seconds until one more attempt is allowed under this limit (0 when it is allowed now)."""
    since = now - limit.window
    rows = await ThrottleHit.select(ThrottleHit.at).where(
        (ThrottleHit.key == limit.key) & (ThrottleHit.at > since)
    ).order_by(ThrottleHit.at, ascending=False).limit(limit.attempts)
    if len(rows) < limit.attempts:
        return 0
    # The oldest of the last `attempts` hits must leave the window before another attempt.
    return max(1, math.ceil((rows[-1]["at"] + limit.window - now).total_seconds()))


async def check(*limits: Limit, now: datetime, message: str) -> None:
    """Refuse (429) when any limit is reached. `message` names who is limited; the wait is added to it."""
    wait = 0
    for limit in limits:
        wait = max(wait, await wait_needed(limit, now=now))
    if wait:
        raise PlannerError(f"{message} Please wait {wait_words(wait)} and try again.", "throttled",
                           extra={"retry_after": wait})


async def count(key: str, *, now: datetime, window: timedelta) -> int:
    return await ThrottleHit.count().where((ThrottleHit.key == key[:KEY_MAX]) & (ThrottleHit.at > now - window))


async def hit(*keys: str, now: datetime, keep: timedelta = timedelta(days=1)) -> None:
    """Count one attempt under each key; forget this key's attempts older than `keep`."""
    keys = tuple(k[:KEY_MAX] for k in keys)
    await ThrottleHit.insert(*(ThrottleHit(key=k, at=now) for k in keys))
    await ThrottleHit.delete().where(ThrottleHit.key.is_in(list(keys)) & (ThrottleHit.at < now - keep))


async def clear(*keys: str) -> None:
    await ThrottleHit.delete().where(ThrottleHit.key.is_in([k[:KEY_MAX] for k in keys]))
