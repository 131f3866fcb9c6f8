"""One-time links sent by email: an invitation to choose a first password, or a password reset.
Only the SHA-256 of a link's secret is kept; a link works once and until it expires. Setting a
password through one ends every session and other link of that person."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from planner.accounts.rules import (
    NO_PASSWORD,
    hash_password,
    normalise_email,
    password_matches,
    token_hash,
)
from planner.accounts.sessions import end_sessions
from planner.accounts.tables import AccountLink, User
from planner.audit.rules import record
from planner.db import locked, write_transaction
from planner.errors import PlannerError
from planner.i18n import DEFAULT, _l, supported
from planner.outbox.rules import enqueue
from planner.throttle import rules as throttle

TTL = {"invite": timedelta(days=7), "reset": timedelta(hours=1)}

LINK_GONE = "This link has expired or was already used. Ask for a new one."


async def create_link(user_id: int, purpose: str, *, now: datetime, program_id: int | None = None,
                      created_by: int | None = None) -> str:
    secret = secrets.token_urlsafe(32)
    await AccountLink.insert(AccountLink(user=user_id, purpose=purpose, token_hash=token_hash(secret), program=program_id,
                                         created_by=created_by, created_at=now, expires_at=now + TTL[purpose]))
    return secret


async def request_reset(email: str, *, now: datetime, client: str, base_url: str,
                        language: str | None = None) -> None:
    """Email a reset link if the account exists. The answer is the same either way, so this does not
    tell a stranger who has an account; it is limited per client and per address.

    `language`: what the mail speaks (the web layer passes the asker's own choice, else the default of the
    account's programme); English without one."""
    await throttle.check(
        throttle.Limit(f"reset:client:{client}", 5, timedelta(minutes=15)),
        throttle.Limit(f"reset:account:{(email or '').strip().lower()[:254]}", 3, timedelta(hours=1)),
        now=now, message=_l("Too many reset requests."))
    try:
        email = normalise_email(email)
    except PlannerError:
        raise PlannerError("Enter the email address of your account.", extra={"field": "email"}) from None
    await throttle.hit(f"reset:client:{client}", f"reset:account:{email}", now=now)
    user = await User.select(User.id, User.email).where(User.email == email).first()
    if not user:
        return
    lang = supported(language) or DEFAULT
    async with write_transaction():
        secret = await create_link(user["id"], "reset", now=now)
        url = f"{base_url}/account/set-password?token={secret}"
        body = "\n\n".join([
            _l("Someone asked to reset the password of your planner account.").render(lang),
            _l("Choose a new password here (the link works once, within the hour):\n{url}", url=url).render(lang),
            _l("If it was not you, ignore this message: your password stays as it is.").render(lang),
        ]) + "\n"
        await enqueue(kind="password_reset", to=email, now=now, subject=_l("Reset your planner password").render(lang),
                      body_text=body, context={"language": lang})


async def link_for(secret: str, *, now: datetime) -> dict:
    """The live link behind a secret, with its person, or 404."""
    row = await AccountLink.select(AccountLink.id, AccountLink.purpose, AccountLink.user.id, AccountLink.user.email,
                                   AccountLink.expires_at, AccountLink.used_at).where(
        AccountLink.token_hash == token_hash(secret or "")).first()
    if not row or row["used_at"] is not None or row["expires_at"] <= now:
        raise PlannerError(LINK_GONE, "not_found")
    return {"id": row["id"], "purpose": row["purpose"], "user_id": row["user.id"], "email": row["user.email"]}


async def set_password_with_link(secret: str, password: str, *, now: datetime) -> dict:
    """Use a link once: set the password, end every session and other link of the person."""
    new_hash = hash_password(password)
    async with write_transaction():
        link = await link_for(secret, now=now)
        # The conditional write makes the link single-use even when two requests race.
        used = await AccountLink.update({AccountLink.used_at: now}).where(
            (AccountLink.id == link["id"]) & AccountLink.used_at.is_null()).returning(AccountLink.id)
        if not used:
            raise PlannerError(LINK_GONE, "not_found")
        await User.update({User.password_hash: new_hash}).where(User.id == link["user_id"])
        await AccountLink.delete().where((AccountLink.user == link["user_id"]) & AccountLink.used_at.is_null())
        ended = await end_sessions(link["user_id"])
        actor = {"id": link["user_id"], "email": link["email"]}
        if link["purpose"] == "reset":
            # An account event: each programme the person works on shows it in its log (audit.events).
            await record("password_reset", now=now, actor=actor, subject=link["email"], detail=f"{ended} session(s) ended")
    return {"id": link["user_id"], "email": link["email"], "purpose": link["purpose"]}


async def change_password(user: dict, current: str, new: str, *, now: datetime, keep_session_id: int | None) -> int:
    """Change one's own password; every other session of the person ends. Returns how many ended."""
    row = await User.select(User.password_hash).where(User.id == user["id"]).first()
    if not row or row["password_hash"] == NO_PASSWORD or not password_matches(row["password_hash"], current):
        raise PlannerError("The current password is not right.", extra={"field": "current"})
    new_hash = hash_password(new)
    async with write_transaction():
        await locked(User.select(User.id).where(User.id == user["id"])).first()
        await User.update({User.password_hash: new_hash}).where(User.id == user["id"])
        ended = await end_sessions(user["id"], keep_session_id=keep_session_id)
        await record("password_changed", now=now, actor=user, subject=user["email"], detail=f"{ended} other session(s) ended")
    return ended
