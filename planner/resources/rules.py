"""Support resources shown for a programme: seeded from the packaged lists, edited, reordered and
reviewed by its organizers."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from planner.db import write_transaction
from planner.errors import PlannerError, not_found
from planner.fields import loads
from planner.i18n import _l
from planner.programs.rules import require_role
from planner.programs.tables import Program
from planner.resources import hub
from planner.resources.seed import reviewed_on
from planner.resources.tables import ResourceReview, SupportResource

KINDS = hub.KINDS
PUBLIC = ("name", "kind", "phone", "sms", "url", "hours", "languages", "description")
CONTENT = ("name", "kind", "phone", "sms", "url", "hours", "languages", "description")


def resource_out(r: dict, *, full: bool = False, country_reviewed: bool = False) -> dict:
    out = {k: r[k] for k in PUBLIC}
    out["languages"] = loads(r["languages"]) or []
    # The public list's entries stay "not yet reviewed" until an organizer reviews the country.
    out["reviewed"] = country_reviewed or r.get("source", "curated") != "public_list"
    if full:
        out.update({"id": r["id"], "enabled": r["enabled"], "country": r["country"], "position": r["position"],
                    "source": r.get("source", "curated")})
    return out


async def _rows(program_id: int, *, enabled_only: bool) -> list[dict]:
    where = SupportResource.program == program_id
    if enabled_only:
        where = where & (SupportResource.enabled == True)  # noqa: E712
    return await SupportResource.select().where(where).order_by(SupportResource.position).order_by(SupportResource.id)


async def public_resources(program_id: int) -> list[dict]:
    p = await Program.select(Program.country).where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    reviewed = await review_of(program_id, p["country"]) is not None
    return [resource_out(r, country_reviewed=reviewed) for r in await _rows(program_id, enabled_only=True)]


async def all_resources(program_id: int, *, user: dict | None) -> dict:
    await require_role(user, program_id, "organizer")
    p = await Program.select(Program.country).where(Program.id == program_id).first()
    review = await review_of(program_id, p["country"])
    rows = await _rows(program_id, enabled_only=False)
    return {"reviewed_on": reviewed_on().isoformat(), "country": p["country"], "review": review,
            "resources": [resource_out(r, full=True, country_reviewed=review is not None) for r in rows]}


async def review_of(program_id: int, country: str) -> dict | None:
    """The latest review of the country's entries for the programme: {"reviewed_on", "reviewed_by"}, or None."""
    r = await ResourceReview.select(ResourceReview.reviewed_on, ResourceReview.reviewed_by).where(
        (ResourceReview.program == program_id) & (ResourceReview.country == country)
    ).order_by(ResourceReview.reviewed_on, ascending=False).order_by(ResourceReview.id, ascending=False).first()
    return {"reviewed_on": r["reviewed_on"].isoformat(), "reviewed_by": r["reviewed_by"]} if r else None


async def review_status(program_id: int) -> dict:
    """For the organizer's programme page: the programme's country and whether its entries were reviewed."""
    p = await Program.select(Program.country).where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    return {"country": p["country"], "review": await review_of(program_id, p["country"])}


async def review_country(program_id: int, data: dict, *, user: dict | None, now: datetime) -> dict:
    """An organizer confirms they checked the programme's entries for a country (the programme's own by default)."""
    await require_role(user, program_id, "organizer")
    p = await Program.select(Program.country).where(Program.id == program_id).first()
    country = hub.normalise_code(data.get("country") or p["country"])
    if country is None:
        raise PlannerError("That is not a country code (for example US or GB).", extra={"field": "country"})
    on = data.get("reviewed_on") or now.date()
    if isinstance(on, str):
        try:
            on = date.fromisoformat(on)
        except ValueError as exc:
            raise PlannerError("reviewed_on must be a date like 2027-06-01.", extra={"field": "reviewed_on"}) from exc
    if on > now.date():
        raise PlannerError("A review cannot be dated in the future.", extra={"field": "reviewed_on"})
    await ResourceReview.insert(ResourceReview(program=program_id, country=country, reviewed_on=on,
                                               reviewed_by=(user.get("email") or "")[:254], created_at=now))
    return {"country": country, "reviewed_on": on.isoformat(), "reviewed_by": user.get("email") or ""}


async def reorder(program_id: int, ids: list[Any], *, user: dict | None) -> list[dict]:
    """Put the programme's entries in the given order (every entry of the programme, each once)."""
    await require_role(user, program_id, "organizer")
    try:
        wanted = [int(x) for x in ids]
    except (TypeError, ValueError) as exc:
        raise PlannerError("ids must be the resources' ids.", extra={"field": "ids"}) from exc
    async with write_transaction():
        have = [r["id"] for r in await _rows(program_id, enabled_only=False)]
        if sorted(wanted) != sorted(have):
            raise PlannerError("Give every resource of the programme exactly once.", "conflict", extra={"field": "ids"})
        for position, rid in enumerate(wanted):
            await SupportResource.update({SupportResource.position: position}).where(SupportResource.id == rid)
    return [resource_out(r, full=True) for r in await _rows(program_id, enabled_only=False)]


async def move(resource_id: int, step: int, *, user: dict | None) -> None:
    """Move one entry up (-1) or down (+1) in its programme's list."""
    r = await SupportResource.select(SupportResource.program).where(SupportResource.id == resource_id).first()
    if not r:
        raise not_found("That resource")
    ids = [x["id"] for x in await _rows(r["program"], enabled_only=False)]
    i = ids.index(resource_id)
    j = max(0, min(len(ids) - 1, i + (1 if step > 0 else -1)))
    ids[i], ids[j] = ids[j], ids[i]
    await reorder(r["program"], ids, user=user)


async def belongs(resource_id: int, program_id: int) -> bool:
    return await SupportResource.exists().where((SupportResource.id == resource_id) & (SupportResource.program == program_id))


async def help_entries(program_id: int) -> dict:
    """What the help hub shows for a guest's programme: its country's entries as the organizers keep them.
    The emergency number is always there, even if an organizer hid it or the programme predates the hub."""
    p = await Program.select(Program.id, Program.name, Program.country).where(Program.id == program_id).first()
    if not p:
        raise not_found("That programme")
    review = await review_of(program_id, p["country"])
    entries = [{**resource_out(r, country_reviewed=review is not None), "note": None,
                "source": r.get("source", "curated")} for r in await _rows(program_id, enabled_only=True)]
    if not any(e["kind"] == "emergency" for e in entries):
        entries = [e for e in hub.entries_for(p["country"]) if e["kind"] == "emergency"] + entries
    return {"program": p, "entries": entries, "review": review}


# The columns' sizes, so PostgreSQL never refuses what passed here.
_MAX = {"name": 200, "phone": 60, "sms": 60, "url": 300, "hours": 100, "description": 2000, "kind": 30}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(data: dict, partial: bool) -> dict:
    out: dict[str, Any] = {}
    for key in ("name", "phone", "sms", "url", "hours", "description", "kind"):
        if key in data and data[key] is not None:
            value = str(data[key]).replace("\r\n", "\n").strip()
            if key == "name" and not value:
                raise PlannerError("A resource needs a name.", extra={"field": "name"})
            if len(value) > _MAX[key]:
                raise PlannerError(_l("{field} can be at most {n} characters.", field=key, n=_MAX[key]), extra={"field": key})
            if _CONTROL.search(value.replace("\n", "") if key == "description" else value):
                raise PlannerError(_l("{field} contains control characters.", field=key), extra={"field": key})
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
    row = SupportResource(program=program_id, country=p["country"], kind=values.pop("kind", "other"), position=count,
                          source="organizer", **values)
    await row.save()
    return resource_out(row.to_dict(), full=True)


async def update_resource(resource_id: int, data: dict, *, user: dict | None) -> dict:
    r = await SupportResource.select().where(SupportResource.id == resource_id).first()
    if not r:
        raise not_found("That resource")
    await require_role(user, r["program"], "organizer")
    values = _clean(data, partial=True)
    if any(k in values for k in CONTENT):
        # Edited by the programme: its organizers vouch for it now.
        values["source"] = "organizer"
    if values:
        await SupportResource.update(values).where(SupportResource.id == resource_id)
    r = await SupportResource.select().where(SupportResource.id == resource_id).first()
    return resource_out(r, full=True)


async def delete_resource(resource_id: int, *, user: dict | None) -> None:
    """Delete a programme's own copy of a resource. The emergency number stays (hide it if it must not show)."""
    r = await SupportResource.select().where(SupportResource.id == resource_id).first()
    if not r:
        raise not_found("That resource")
    await require_role(user, r["program"], "organizer")
    if r["kind"] == "emergency":
        raise PlannerError(_l("The emergency number cannot be deleted; hide it if it must not show."), "conflict")
    await SupportResource.delete().where(SupportResource.id == resource_id)
