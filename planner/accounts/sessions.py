"""Browser sessions kept in the database, so that ending one ends it on every worker at once.

The cookie carries only a random id; the table keeps its SHA-256, the user, and when it expires.
Logout ends the session; a password change or reset ends all of that person's other sessions.
(Litestar's server-side sessions would write the store on every response and keep an id the
browser made up; here a session is written when it starts and touched at most every few minutes.)
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from planner.accounts.rules import token_hash
from planner.accounts.tables import UserSession
from planner.db import raw
from planner.throttle.rules import prune

SESSION_DAYS = 14
TOUCH = timedelta(minutes=5)


async def start_session(user_id: int, *, now: datetime, user_agent: str = "") -> str:
    """A new session for the user; returns the id for the cookie (never stored as is)."""
    secret = secrets.token_urlsafe(32)
    await UserSession.insert(UserSession(user=user_id, key_hash=token_hash(secret), created_at=now, last_seen_at=now,
                                         expires_at=now + timedelta(days=SESSION_DAYS), user_agent=(user_agent or "")[:200]))
    # Sessions long expired, and attempts older than any throttle window, are forgotten as new sessions start.
    await UserSession.delete().where(UserSession.expires_at < now - timedelta(days=1))
    await prune(now=now)
    return secret


async def user_for_session(secret: str, *, now: datetime) -> dict | None:
    if not secret or len(secret) > 100:
        return None
    rows = await raw(
        'SELECT s.id AS session_id, s.last_seen_at, u.id, u.email, u.is_admin, u.name '
        'FROM user_session s JOIN planner_user u ON u.id = s."user" WHERE s.key_hash = {} AND s.expires_at > {}',
        token_hash(secret), now,
    )
    if not rows:
        return None
    u = rows[0]
    if u["last_seen_at"] < now - TOUCH:
        await UserSession.update({UserSession.last_seen_at: now}).where(UserSession.id == u["session_id"])
    return {"id": u["id"], "email": u["email"], "is_admin": bool(u["is_admin"]), "name": u["name"],
            "session_id": u["session_id"]}


async def end_session(secret: str) -> None:
    await UserSession.delete().where(UserSession.key_hash == token_hash(secret or ""))


async def end_sessions(user_id: int, *, keep_session_id: int | None = None) -> int:
    """End every session of the user (but the one kept, if any); returns how many ended."""
    where = UserSession.user == user_id
    if keep_session_id is not None:
        where = where & (UserSession.id != keep_session_id)
    gone = await UserSession.delete().where(where).returning(UserSession.id)
    return len(gone)


async def end_session_by_id(user_id: int, session_id: int) -> None:
    await UserSession.delete().where((UserSession.id == session_id) & (UserSession.user == user_id))


async def list_sessions(user_id: int, *, now: datetime) -> list[dict]:
    return await UserSession.select(UserSession.id, UserSession.created_at, UserSession.last_seen_at,
                                    UserSession.expires_at, UserSession.user_agent).where(
        (UserSession.user == user_id) & (UserSession.expires_at > now)
    ).order_by(UserSession.last_seen_at, ascending=False)
