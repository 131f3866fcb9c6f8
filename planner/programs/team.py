"""A programme's team: invite by email, change roles, remove members, and the rule that a programme
always keeps at least one organizer. The admin can restore an organizer to any programme."""
from __future__ import annotations

from datetime import datetime

from planner.accounts import links
from planner.accounts.rules import NO_PASSWORD, normalise_email
from planner.accounts.tables import User
from planner.audit.rules import record
from planner.db import locked, write_transaction
from planner.errors import PlannerError
from planner.i18n import _l, _nl, program_default
from planner.outbox.rules import enqueue
from planner.programs.rules import require_role
from planner.programs.tables import ROLES, Membership, Program
from planner.terms import Term

LAST_ORGANIZER = "{email} is the last organizer of this programme. Make someone else an organizer first."


def _role(value: str | None) -> str:
    if value not in ROLES:
        raise PlannerError(_l("The role must be one of: {roles}.", roles=", ".join(ROLES)), extra={"field": "role"})
    return value


async def _program(program_id: int) -> dict:
    # Locks the programme row on PostgreSQL: every change to its team is serialised on it, so two
    # organizers demoting each other at once cannot both succeed.
    row = await locked(Program.select(Program.id, Program.name, Program.languages).where(Program.id == program_id)).first()
    if not row:
        raise PlannerError("That programme was not found.", "not_found")
    return row


async def _other_organizers(program_id: int, user_id: int) -> int:
    return await Membership.count().where(
        (Membership.program == program_id) & (Membership.role == "organizer") & (Membership.user != user_id)
    )


async def _set_role(program: dict, target: dict, role: str, *, actor: dict | None, now: datetime) -> str:
    """Add or change one membership inside the caller's transaction; returns what happened."""
    existing = await Membership.select(Membership.id, Membership.role).where(
        (Membership.program == program["id"]) & (Membership.user == target["id"])
    ).first()
    if existing and existing["role"] == role:
        return "unchanged"
    if existing:
        if existing["role"] == "organizer" and not await _other_organizers(program["id"], target["id"]):
            raise PlannerError(LAST_ORGANIZER.format(email=target["email"]), "conflict")
        await Membership.update({Membership.role: role}).where(Membership.id == existing["id"])
        await record("role_changed", now=now, program_id=program["id"], actor=actor, subject=target["email"],
                     detail=f"{existing['role']} → {role}")
        return "changed"
    await Membership.insert(Membership(program=program["id"], user=target["id"], role=role))
    await record("member_added", now=now, program_id=program["id"], actor=actor, subject=target["email"], detail=role)
    return "added"


async def add_member(program_id: int, data: dict, *, user: dict | None, now: datetime) -> dict:
    """Give an existing account a role in the programme (or change it)."""
    await require_role(user, program_id, "organizer")
    email = normalise_email(data.get("email") or "")
    role = _role(data.get("role"))
    target = await User.select(User.id, User.email).where(User.email == email).first()
    if not target:
        raise PlannerError(_l("There is no account for {email} yet; invite them from the team page.", email=email), "not_found")
    async with write_transaction():
        program = await _program(program_id)
        await _set_role(program, target, role, actor=user, now=now)
    return {"program_id": program_id, "email": email, "role": role, "user_id": target["id"]}


async def invite_member(program_id: int, data: dict, *, user: dict | None, now: datetime, base_url: str) -> dict:
    """Invite someone by email. A new person gets an account without a password and a one-time link to
    set one; an existing account just gets the membership (and a note saying so)."""
    await require_role(user, program_id, "organizer")
    email = normalise_email(data.get("email") or "")
    role = _role(data.get("role"))
    async with write_transaction():
        program = await _program(program_id)
        target = await User.select(User.id, User.email, User.password_hash).where(User.email == email).first()
        if target is None:
            row = User(email=email, password_hash=NO_PASSWORD, is_admin=False, name="")
            await row.save()
            target = {"id": row.id, "email": email, "password_hash": NO_PASSWORD}
        await _set_role(program, target, role, actor=user, now=now)
        invited = target["password_hash"] == NO_PASSWORD
        # Accounts keep no language of their own: the mail speaks the programme's default.
        lang = program_default(program["languages"])
        params = {"inviter": user["email"], "programme": program["name"], "role": Term(role)}
        if invited:
            secret = await links.create_link(target["id"], "invite", now=now, program_id=program_id, created_by=user["id"])
            url = f"{base_url}/account/set-password?token={secret}"
            days = links.TTL["invite"].days
            body = "\n\n".join([
                _l("{inviter} invited you to the team of {programme} as {role}.", **params).render(lang),
                _nl("Choose your password here (the link works once, for {n} day):\n{url}",
                    "Choose your password here (the link works once, for {n} days):\n{url}", days, url=url).render(lang),
                _l("If you did not expect this, you can ignore this message.").render(lang),
            ]) + "\n"
            subject = _l("You're invited to {programme}", programme=program["name"]).render(lang)
            await enqueue(kind="account_invite", to=email, now=now, subject=subject, body_text=body, context={"language": lang})
            await record("member_invited", now=now, program_id=program_id, actor=user, subject=email, detail=role)
        else:
            login = f"{base_url}/login"
            body = "\n\n".join([
                _l("{inviter} added you to the team of {programme} as {role}.", **params).render(lang),
                _l("Log in as usual: {url}", url=login).render(lang),
            ]) + "\n"
            subject = _l("You're on the team of {programme}", programme=program["name"]).render(lang)
            await enqueue(kind="account_invite", to=email, now=now, subject=subject, body_text=body, context={"language": lang})
    return {"program_id": program_id, "email": email, "role": role, "user_id": target["id"], "invited": invited}


async def remove_member(program_id: int, user_id: int, *, user: dict | None, now: datetime) -> None:
    """Take someone off the team. Their access ends with the row: every request checks membership."""
    await require_role(user, program_id, "organizer")
    async with write_transaction():
        await _program(program_id)
        m = await Membership.select(Membership.id, Membership.role, Membership.user.email).where(
            (Membership.program == program_id) & (Membership.user == user_id)
        ).first()
        if not m:
            raise PlannerError("That person is not on this programme's team.", "not_found")
        if m["role"] == "organizer" and not await _other_organizers(program_id, user_id):
            raise PlannerError(LAST_ORGANIZER.format(email=m["user.email"]), "conflict")
        await Membership.delete().where(Membership.id == m["id"])
        await record("member_removed", now=now, program_id=program_id, actor=user, subject=m["user.email"], detail=m["role"])


async def change_role(program_id: int, user_id: int, role: str, *, user: dict | None, now: datetime) -> None:
    await require_role(user, program_id, "organizer")
    role = _role(role)
    target = await User.select(User.id, User.email).where(User.id == user_id).first()
    async with write_transaction():
        program = await _program(program_id)
        if not target or not await Membership.exists().where((Membership.program == program_id) & (Membership.user == user_id)):
            raise PlannerError("That person is not on this programme's team.", "not_found")
        await _set_role(program, target, role, actor=user, now=now)


async def restore_organizer(program_id: int, email: str, *, user: dict | None, now: datetime) -> dict:
    """The admin makes an existing account an organizer of any programme, member or not."""
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    if not user.get("is_admin"):
        raise PlannerError("Only an admin can restore an organizer.", "forbidden")
    email = normalise_email(email)
    target = await User.select(User.id, User.email).where(User.email == email).first()
    if not target:
        raise PlannerError(_l("There is no account for {email}.", email=email), "not_found")
    async with write_transaction():
        program = await _program(program_id)
        await _set_role(program, target, "organizer", actor=user, now=now)
        await record("organizer_restored", now=now, program_id=program_id, actor=user, subject=email)
    return {"program_id": program_id, "email": email, "role": "organizer", "user_id": target["id"]}


async def list_members(program_id: int, *, user: dict | None) -> list[dict]:
    await require_role(user, program_id, "organizer")
    rows = await Membership.select(Membership.role, Membership.user.email, Membership.user.id,
                                   Membership.user.password_hash).where(
        Membership.program == program_id
    ).order_by(Membership.user.email)
    return [{"user_id": r["user.id"], "email": r["user.email"], "role": r["role"],
             "pending": r["user.password_hash"] == NO_PASSWORD} for r in rows]


async def all_programs(*, user: dict | None) -> list[dict]:
    """Every programme with its organizers, for the admin."""
    if user is None or not user.get("is_admin"):
        raise PlannerError("Only an admin can see every programme.", "forbidden")
    programs = await Program.select(Program.id, Program.name, Program.starts_on).order_by(Program.starts_on, ascending=False)
    orgs = await Membership.select(Membership.program, Membership.user.email).where(Membership.role == "organizer")
    by: dict[int, list[str]] = {}
    for o in orgs:
        by.setdefault(o["program"], []).append(o["user.email"])
    for p in programs:
        p["organizers"] = sorted(by.get(p["id"], []))
    return programs
