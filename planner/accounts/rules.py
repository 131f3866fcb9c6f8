"""Accounts: users, password hashes, logins with their throttle, bearer tokens. Roles are in planner.programs."""
from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from planner.accounts.tables import ApiToken, User
from planner.db import raw
from planner.errors import PlannerError
from planner.i18n import _l
from planner.throttle import rules as throttle

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
# An invited person has no password until they follow their link; no password verifies against this.
NO_PASSWORD = "!"
# Failures on one account from anywhere, before each further attempt on it is slowed (never refused).
ACCOUNT_FREE_FAILURES = 10
ACCOUNT_DELAY_STEP = 0.2
ACCOUNT_DELAY_CAP = 2.0
# last_used_at is written at most this often per token, not on every request.
TOKEN_TOUCH = timedelta(minutes=1)


def normalise_email(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise PlannerError(_l("“{email}” is not a valid email address.", email=email))
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def hash_password(password: str) -> str:
    if len(password or "") < 8:
        raise PlannerError("A password needs at least 8 characters.", extra={"field": "password"})
    if len(password) > 1000:
        raise PlannerError("A password can have at most 1000 characters.", extra={"field": "password"})
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password, checked when the email is unknown so both paths cost the same
    (made on first use, not at import)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        _hasher.verify(stored_hash or _dummy_hash(), password or "")
        return stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(email: str, password: str, *, admin: bool = False, name: str = "") -> dict:
    email = normalise_email(email)
    if await User.exists().where(User.email == email):
        raise PlannerError(_l("An account for {email} already exists.", email=email), "conflict")
    user = User(email=email, password_hash=hash_password(password), is_admin=admin, name=name)
    await user.save()
    return {"id": user.id, "email": user.email, "is_admin": user.is_admin}


# ---------------------------------------------------------------- logins

def login_limits(client: str, email: str, *, attempts: int, client_attempts: int, window_seconds: int) -> list[throttle.Limit]:
    window = timedelta(seconds=window_seconds)
    return [
        # One client guessing one account's password.
        throttle.Limit(f"login:client+account:{client}:{email}", attempts, window),
        # One client trying many accounts (password spraying).
        throttle.Limit(f"login:client:{client}", client_attempts, window),
    ]


async def authenticate(email: str, password: str, *, now: datetime, client: str, attempts: int,
                       client_attempts: int, window_seconds: int) -> dict:
    """Check a password. Failures are limited per client and per client and account, never per
    account alone: whoever attacks an account from elsewhere cannot lock its owner out. An account
    failing from many clients at once has each further attempt slowed instead."""
    key = (email or "").strip().lower()[:254]
    limits = login_limits(client, key, attempts=attempts, client_attempts=client_attempts, window_seconds=window_seconds)
    # Every attempt is counted before the password is checked; a good one is forgotten again.
    counted = await throttle.take_strict(*limits, now=now, message=_l("Too many failed logins from your connection."))
    account_key = f"login:account:{key}"
    failures = await throttle.count(account_key, now=now, window=timedelta(seconds=window_seconds))
    if failures > ACCOUNT_FREE_FAILURES:
        await asyncio.sleep(min(ACCOUNT_DELAY_CAP, ACCOUNT_DELAY_STEP * (failures - ACCOUNT_FREE_FAILURES)))
    user = await User.select().where(User.email == key).first()
    if not password_matches(user["password_hash"] if user else None, password):
        await throttle.hit(account_key, now=now)
        await throttle.prune(now=now)
        raise PlannerError("The email or password is not right.", "unauthorized")
    await throttle.forget(counted)
    await throttle.clear(limits[0].key)
    return user


# ---------------------------------------------------------------- bearer tokens

async def issue_token(user_id: int, *, now: datetime, days: int, label: str = "") -> str:
    token = "pl_" + secrets.token_urlsafe(32)
    await ApiToken.insert(ApiToken(user=user_id, token_hash=token_hash(token), label=(label or "")[:100],
                                   created_at=now, expires_at=now + timedelta(days=days), last_used_at=None))
    return token


async def user_for_token(token: str, *, now: datetime) -> dict | None:
    # Raw SQL: it runs on every API call, and Piccolo's joined select costs more CPU than the query.
    rows = await raw(
        'SELECT t.id AS token_id, t.created_at, t.last_used_at, u.id, u.email, u.is_admin, u.name '
        'FROM api_token t JOIN planner_user u ON u.id = t."user" WHERE t.token_hash = {} AND t.expires_at > {}',
        token_hash(token), now,
    )
    if not rows:
        return None
    u = rows[0]
    if (u["last_used_at"] or u["created_at"]) < now - TOKEN_TOUCH:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == u["token_id"])
    return {"id": u["id"], "email": u["email"], "is_admin": bool(u["is_admin"]), "name": u["name"],
            "token_id": u["token_id"]}


async def revoke_token(token: str) -> bool:
    gone = await ApiToken.delete().where(ApiToken.token_hash == token_hash(token)).returning(ApiToken.id)
    return bool(gone)


async def revoke_token_by_id(user_id: int, token_id: int) -> None:
    gone = await ApiToken.delete().where((ApiToken.id == token_id) & (ApiToken.user == user_id)).returning(ApiToken.id)
    if not gone:
        raise PlannerError("That token was not found.", "not_found")


async def list_tokens(user_id: int, *, now: datetime) -> list[dict]:
    rows = await ApiToken.select(ApiToken.id, ApiToken.label, ApiToken.created_at, ApiToken.last_used_at,
                                 ApiToken.expires_at).where(ApiToken.user == user_id).order_by(ApiToken.created_at, ascending=False)
    for r in rows:
        r["expired"] = r["expires_at"] is not None and r["expires_at"] <= now
    return rows


# ---------------------------------------------------------------- users

async def user_by_id(user_id: int) -> dict | None:
    return await User.select(User.id, User.email, User.is_admin, User.name).where(User.id == user_id).first()
