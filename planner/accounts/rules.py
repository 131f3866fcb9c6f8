"""Accounts: users, password hashes, bearer tokens, login throttling, programme roles."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from planner.accounts.tables import ApiToken, LoginFailure, User
from planner.errors import PlannerError
from planner.i18n import _l
from planner.terms import Terms
from planner.scheduling.tables import Membership

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
# A real hash of a random password, checked when the email is unknown so both paths cost the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise PlannerError(_l("“{email}” is not a valid email address.", email=email))
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def hash_password(password: str) -> str:
    if len(password or "") < 8:
        raise PlannerError("A password needs at least 8 characters.")
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(email: str, password: str, *, admin: bool = False, name: str = "") -> dict:
    email = normalise_email(email)
    if await User.exists().where(User.email == email):
        raise PlannerError(_l("An account for {email} already exists.", email=email), "conflict")
    user = User(email=email, password_hash=hash_password(password), is_admin=admin, name=name)
    await user.save()
    return {"id": user.id, "email": user.email, "is_admin": user.is_admin}


async def authenticate(email: str, password: str, *, now: datetime, attempts: int, window_seconds: int) -> dict:
    """Check a password; too many failures for one address within the window are refused (429)."""
    key = (email or "").strip().lower()[:300]
    since = now - timedelta(seconds=window_seconds)
    failures = await LoginFailure.count().where((LoginFailure.key == key) & (LoginFailure.at > since))
    if failures >= attempts:
        raise PlannerError("Too many failed logins for this address. Wait a few minutes and try again.", "throttled")
    user = await User.select().where(User.email == key).first()
    try:
        _hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password or "")
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        await LoginFailure.insert(LoginFailure(key=key, at=now))
        raise PlannerError("The email or password is not right.", "unauthorized")
    await LoginFailure.delete().where(LoginFailure.key == key)
    return user


async def issue_token(user_id: int) -> str:
    token = "pl_" + secrets.token_urlsafe(32)
    await ApiToken.insert(ApiToken(user=user_id, token_hash=token_hash(token)))
    return token


async def user_for_token(token: str) -> dict | None:
    # Raw SQL: it runs on every API call, and Piccolo's joined select costs more CPU than the query.
    from planner.db import raw

    rows = await raw(
        'SELECT u.id, u.email, u.is_admin, u.name FROM api_token t JOIN planner_user u ON u.id = t."user" '
        "WHERE t.token_hash = {}",
        token_hash(token),
    )
    if not rows:
        return None
    u = rows[0]
    return {"id": u["id"], "email": u["email"], "is_admin": bool(u["is_admin"]), "name": u["name"]}


async def user_by_id(user_id: int) -> dict | None:
    return await User.select(User.id, User.email, User.is_admin, User.name).where(User.id == user_id).first()


async def role_in(user_id: int, program_id: int) -> str | None:
    row = await Membership.select(Membership.role).where(
        (Membership.user == user_id) & (Membership.program == program_id)
    ).first()
    return row["role"] if row else None


async def require_role(user: dict | None, program_id: int, *roles: str) -> str:
    """The user's role in the programme, or 401/403/404. Unknown and foreign programmes look the same (404)."""
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    role = await role_in(user["id"], program_id)
    if role is None:
        raise PlannerError("That programme was not found.", "not_found")
    if roles and role not in roles:
        raise PlannerError(_l("This needs one of these roles in the programme: {roles}.", roles=Terms(roles)), "forbidden")
    return role
