"""Programmes: creating and changing one, who may do what in it, the reminder offsets it sends."""
from __future__ import annotations

from typing import Any

from babel import Locale

from planner.accounts.rules import normalise_email
from planner.clock import parse_date, zone
from planner.db import write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import loads, text
from planner.i18n import DEFAULT, _l, program_default
from planner.programs.tables import Membership, Program
from planner.terms import Terms

COUNTRIES = {code for code in Locale("en").territories if len(code) == 2 and code.isalpha()}
MAX_HOURS = 24 * 14


# ---------------------------------------------------------------- roles

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


async def account_language(email: str) -> str:
    """The language of mail to an account, which has none of its own: the default of the programme it
    joined last, else English."""
    try:
        email = normalise_email(email)
    except PlannerError:
        return DEFAULT
    row = await Membership.select(Membership.program.languages).where(Membership.user.email == email).order_by(
        Membership.id, ascending=False).first()
    return program_default(row["program.languages"]) if row else DEFAULT


async def programs_of(user_id: int) -> list[int]:
    return [r["program"] for r in await Membership.select(Membership.program).where(Membership.user == user_id)]


async def member_ids(program_id: int) -> list[int]:
    return [r["user"] for r in await Membership.select(Membership.user).where(Membership.program == program_id)]


# ---------------------------------------------------------------- reminder offsets

def parse_hours(value: Any) -> list[int]:
    """"24, 2" -> [24, 2]: whole hours before the start, largest first; empty means no reminders."""
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        parts = [str(x) for x in value]
    else:
        parts = [x for x in str(value).replace(";", ",").split(",")]
    out: set[int] = set()
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if not part.isdecimal() or not 1 <= int(part) <= MAX_HOURS:
            raise PlannerError(
                _l("Reminders are whole hours before the start, from 1 to {max}, separated by commas (for example 24, 2).", max=MAX_HOURS),
                extra={"field": "reminder_hours"},
            )
        out.add(int(part))
    if len(out) > 5:
        raise PlannerError("At most five reminders per activity.", extra={"field": "reminder_hours"})
    return sorted(out, reverse=True)


def program_out(p: dict) -> dict:
    return {
        "id": p["id"],
        "name": p["name"],
        "timezone": p["timezone"],
        "country": p["country"],
        "starts_on": p["starts_on"].isoformat(),
        "ends_on": p["ends_on"].isoformat(),
        "languages": loads(p["languages"]) or [],
        "care_email": p["care_email"],
        "venue_address": p["venue_address"],
        "reminder_hours": p.get("reminder_hours", "24,2"),
    }


async def create_program(data: dict, *, user: dict | None) -> dict:
    """The programme and its first organizer; see planner.changes.programs for what comes with it."""
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")
    if not user.get("is_admin"):
        raise PlannerError("Only an admin may create programmes.", "forbidden")
    name = text(data, "name", "Name")
    tz = text(data, "timezone", "Time zone", max_len=64)
    zone(tz)
    country = text(data, "country", "Country", max_len=2).upper()
    if country not in COUNTRIES:
        raise PlannerError(_l("“{country}” is not an ISO 3166-1 country code (for example US or GB).", country=country), extra={"field": "country"})
    starts_on = parse_date(data.get("starts_on") or "", "starts_on")
    ends_on = parse_date(data.get("ends_on") or "", "ends_on")
    if ends_on < starts_on:
        raise PlannerError("The programme must end on or after the day it starts.", extra={"field": "ends_on"})
    if (ends_on - starts_on).days > 400:
        raise PlannerError("A programme can last at most 400 days.", extra={"field": "ends_on"})
    languages = data.get("languages") or ["en"]
    if not isinstance(languages, list) or not all(isinstance(x, str) and 2 <= len(x) <= 10 for x in languages):
        raise PlannerError("languages must be a list of language codes such as [\"en\", \"es\"].", extra={"field": "languages"})
    care_email = data.get("care_email") or user["email"]
    care_email = normalise_email(care_email)
    async with write_transaction():
        program = Program(
            name=name, timezone=tz, country=country, starts_on=starts_on, ends_on=ends_on,
            languages=languages, care_email=care_email,
            venue_address=text(data, "venue_address", "Venue address", required=False, max_len=500),
        )
        await program.save()
        await Membership.insert(Membership(program=program.id, user=user["id"], role="organizer"))
    return program_out(program.to_dict())


async def update_program(program_id: int, data: dict, *, user: dict | None) -> dict:
    """Name, venue, care e-mail, languages and reminder offsets; dates, zone and country stay as created."""
    await require_role(user, program_id, "organizer")
    p = await program_row(program_id)
    languages = data.get("languages") or loads(p["languages"]) or ["en"]
    if not isinstance(languages, list) or not all(isinstance(x, str) and 2 <= len(x) <= 10 for x in languages):
        raise PlannerError("Languages must be language codes such as en, es.", extra={"field": "languages"})
    values = {
        Program.name: text({**p, **data}, "name", "Name"),
        Program.venue_address: text({**p, **data}, "venue_address", "Venue address", required=False, max_len=500),
        Program.care_email: normalise_email(data.get("care_email") or p["care_email"]),
        Program.languages: languages,
        Program.reminder_hours: ",".join(str(h) for h in parse_hours(data.get("reminder_hours", p["reminder_hours"]))),
    }
    await Program.update(values).where(Program.id == program_id)
    return program_out(await program_row(program_id))


async def get_program(program_id: int, *, user: dict | None) -> dict:
    await require_role(user, program_id)
    p = await Program.select().where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    return program_out(p)


async def list_programs(*, user: dict) -> list[dict]:
    rows = await Membership.select(
        Membership.role, *Membership.program.all_columns()
    ).where(Membership.user == user["id"]).order_by(Membership.program.starts_on)
    out = []
    for r in rows:
        p = {k.split(".", 1)[1]: v for k, v in r.items() if k.startswith("program.")}
        out.append({**program_out(p), "role": r["role"]})
    return out


async def program_row(program_id: int) -> dict:
    p = await Program.select().where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    return p


# ---------------------------------------------------------------- spaces, hosts
