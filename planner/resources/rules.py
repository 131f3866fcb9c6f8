"""Support resources shown for a programme: seeded from the packaged list, edited by organizers."""
from __future__ import annotations

from typing import Any

from planner.accounts.rules import require_role
from planner.errors import PlannerError, not_found
from planner.i18n import _l
from planner.fields import loads
from planner.resources.seed import reviewed_on
from planner.resources.tables import SupportResource
from planner.scheduling.tables import Program

KINDS = ("emergency", "crisis_line", "text_line", "music_industry", "other")
PUBLIC = ("name", "kind", "phone", "sms", "url", "hours", "languages", "description")


def resource_out(r: dict, *, full: bool = False) -> dict:
    out = {k: r[k] for k in PUBLIC}
    out["languages"] = loads(r["languages"]) or []
    if full:
        out.update({"id": r["id"], "enabled": r["enabled"], "country": r["country"], "position": r["position"]})
    return out


async def public_resources(program_id: int) -> list[dict]:
    if not await Program.exists().where(Program.id == program_id):
        raise not_found("That programme")
    rows = await SupportResource.select().where(
        (SupportResource.program == program_id) & (SupportResource.enabled == True)  # noqa: E712
    ).order_by(SupportResource.position).order_by(SupportResource.id)
    return [resource_out(r) for r in rows]


async def all_resources(program_id: int, *, user: dict | None) -> dict:
    await require_role(user, program_id, "organizer")
    rows = await SupportResource.select().where(SupportResource.program == program_id).order_by(SupportResource.position).order_by(SupportResource.id)
    return {"reviewed_on": reviewed_on().isoformat(), "resources": [resource_out(r, full=True) for r in rows]}


def _clean(data: dict, partial: bool) -> dict:
    out: dict[str, Any] = {}
    for key in ("name", "phone", "sms", "url", "hours", "description", "kind"):
        if key in data and data[key] is not None:
            value = str(data[key]).strip()
            if key == "name" and not value:
                raise PlannerError("A resource needs a name.", extra={"field": "name"})
            if len(value) > (2000 if key == "description" else 300):
                raise PlannerError(_l("{field} is too long.", field=key), extra={"field": key})
            out[key] = value or None if key in ("phone", "sms", "url", "hours") else value
    if not partial and not out.get("name"):
        raise PlannerError("A resource needs a name.", extra={"field": "name"})
    if "kind" in out and out["kind"] not in KINDS:
        raise PlannerError(_l("kind must be one of: {kinds}.", kinds=", ".join(KINDS)), extra={"field": "kind"})
    if out.get("url") and not out["url"].startswith(("https://", "http://", "mailto:", "tel:")):
        raise PlannerError("The link must start with https://, mailto: or tel:.", extra={"field": "url"})
    if "languages" in data and data["languages"] is not None:
        langs = data["languages"]
        if isinstance(langs, str):
            langs = [x.strip() for x in langs.split(",") if x.strip()]
        out["languages"] = langs
    if "enabled" in data and data["enabled"] is not None:
        out["enabled"] = bool(data["enabled"])
    return out


async def add_resource(program_id: int, data: dict, *, user: dict | None) -> dict:
    await require_role(user, program_id, "organizer")
    values = _clean(data, partial=False)
    p = await Program.select(Program.country).where(Program.id == program_id).first()
    count = await SupportResource.count().where(SupportResource.program == program_id)
    row = SupportResource(program=program_id, country=p["country"], kind=values.pop("kind", "other"), position=count, **values)
    await row.save()
    return resource_out(row.to_dict(), full=True)


async def update_resource(resource_id: int, data: dict, *, user: dict | None) -> dict:
    r = await SupportResource.select().where(SupportResource.id == resource_id).first()
    if not r:
        raise not_found("That resource")
    await require_role(user, r["program"], "organizer")
    values = _clean(data, partial=True)
    if values:
        await SupportResource.update(values).where(SupportResource.id == resource_id)
    r = await SupportResource.select().where(SupportResource.id == resource_id).first()
    return resource_out(r, full=True)
