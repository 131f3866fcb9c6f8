"""Invitations to activities by invitation (dinners): one at a time or from a CSV."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from planner.accounts.rules import normalise_email
from planner.db import write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import csv_rows
from planner.i18n import _l
from planner.inputs import check_text
from planner.programs.rules import require_role
from planner.rsvps.answers import _name
from planner.rsvps.notices import enqueue
from planner.rsvps.shapes import MAX_CSV_ROWS, _int_id
from planner.rsvps.tables import Invitation
from planner.scheduling.tables import Activity
from planner.settings import get_settings
from planner.tokens import new_code


async def invite(activity_id: Any, data: dict, *, user: dict | None, now: datetime) -> dict:
    a = await Activity.select().where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    if a["cancelled_at"] is not None:
        raise PlannerError("This activity was cancelled.", "closed")
    name = _name(data)
    email = normalise_email(data.get("email") or "")
    async with write_transaction():
        existing = await Invitation.select().where((Invitation.activity == a["id"]) & (Invitation.email == email)).first()
        if existing:
            return _invitation_out(existing, created=False)
        inv = Invitation(program=a["program"], activity=a["id"], name=name, email=email, code=new_code(), created_at=now)
        await inv.save()
        await enqueue(kind="invitation", to=email, context={"invitation_id": inv.id, "activity_id": a["id"]}, now=now)
    return _invitation_out(inv.to_dict(), created=True)


def _invitation_out(inv: dict, *, created: bool) -> dict:
    base = get_settings().base_url
    return {
        "id": inv["id"], "name": inv["name"], "email": inv["email"], "invite_code": inv["code"],
        "url": f"{base}/a/{inv['activity']}?invite={inv['code']}", "used": inv["used"], "created": created,
    }


async def list_invitations(activity_id: Any, *, user: dict | None) -> list[dict]:
    a = await Activity.select(Activity.id, Activity.program).where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    rows = await Invitation.select().where(Invitation.activity == a["id"]).order_by(Invitation.id)
    return [_invitation_out(r, created=False) for r in rows]


def parse_invite_csv(text: str) -> tuple[list[dict], list[dict]]:
    """Rows of name,email (a header row is optional). Returns (good rows, problems with line numbers)."""
    good, problems, seen = [], [], set()
    for lineno, row in csv_rows(text):
        if not row or not any(c.strip() for c in row):
            continue
        if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["name", "email"]:
            continue
        if len(row) < 2:
            problems.append({"line": lineno, "row": ",".join(row), "error": _l("Expected two columns: name, email.")})
            continue
        name, email = row[0].strip(), row[1].strip()
        try:
            check_text(name, "name")  # a quoted cell may hold a line break or a control character
            email = normalise_email(email)
            if not name:
                raise PlannerError("The name is empty.")
        except PlannerError as exc:
            problems.append({"line": lineno, "row": ",".join(row), "error": exc.text})
            continue
        if email in seen:
            problems.append({"line": lineno, "row": ",".join(row), "error": _l("{email} appears twice in the list.", email=email)})
            continue
        seen.add(email)
        good.append({"name": name, "email": email, "line": lineno})
        if len(good) > MAX_CSV_ROWS:
            raise PlannerError(_l("A list can have at most {n} rows; split it.", n=MAX_CSV_ROWS))
    return good, problems


async def invite_many(activity_id: Any, text: str, *, user: dict | None, now: datetime) -> dict:
    good, problems = parse_invite_csv(text)
    created, existing = [], []
    for row in good:
        inv = await invite(activity_id, row, user=user, now=now)
        (created if inv["created"] else existing).append(inv)
    for inv in existing:
        problems.append({"line": None, "row": inv["email"], "error": _l("{email} was already invited.", email=inv["email"])})
    return {"created": len(created), "already_invited": len(existing), "problems": problems, "invitations": created}
