"""Support resources: the public list (API.md) and the organizers' page to edit, add and disable entries."""
from __future__ import annotations

from urllib.parse import quote

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import Dependency
from litestar.response import Redirect, Template

from planner.clock import utcnow
from planner.errors import PlannerError
from planner.i18n import translations
from planner.programs.rules import get_program
from planner.resources import help_web, rules
from planner.resources.hub import country_name
from planner.resources.public_list import KIND_LABELS
from planner.templating import current_language
from planner.web_common import Out, User, as_dict, typed

UNSET = msgspec.UNSET


class ResourceIn(msgspec.Struct):
    name: str
    kind: str | msgspec.UnsetType = UNSET
    phone: str | None | msgspec.UnsetType = UNSET
    sms: str | None | msgspec.UnsetType = UNSET
    url: str | None | msgspec.UnsetType = UNSET
    hours: str | None | msgspec.UnsetType = UNSET
    languages: list[str] | msgspec.UnsetType = UNSET
    description: str | msgspec.UnsetType = UNSET


class ResourcePatch(msgspec.Struct):
    name: str | msgspec.UnsetType = UNSET
    kind: str | msgspec.UnsetType = UNSET
    phone: str | None | msgspec.UnsetType = UNSET
    sms: str | None | msgspec.UnsetType = UNSET
    url: str | None | msgspec.UnsetType = UNSET
    hours: str | None | msgspec.UnsetType = UNSET
    languages: list[str] | msgspec.UnsetType = UNSET
    description: str | msgspec.UnsetType = UNSET
    enabled: bool | msgspec.UnsetType = UNSET


class OrderIn(msgspec.Struct):
    ids: list[int]


class ReviewIn(msgspec.Struct):
    country: str | None = None
    reviewed_on: str | None = None


class PublicResourceOut(Out):
    """A support resource as guests see it (API.md); `reviewed` is false for the public list's entries until an
    organizer reviewed the programme's country."""
    name: str
    kind: str
    phone: str | None
    sms: str | None
    url: str | None
    hours: str | None
    languages: list[str]
    description: str
    reviewed: bool


class ResourceOut(PublicResourceOut):
    """A support resource as its organizers edit it."""
    id: int
    enabled: bool
    country: str
    position: int
    source: str


class ReviewOut(Out):
    country: str
    reviewed_on: str
    reviewed_by: str


class ResourceController(Controller):
    path = "/api"
    tags = ["resources"]

    @get("/programs/{program_id:int}/resources")
    async def public(self, program_id: int) -> list[PublicResourceOut]:
        return typed(list[PublicResourceOut], await rules.public_resources(program_id))

    @post("/programs/{program_id:int}/resources", status_code=201)
    async def add(self, program_id: int, data: ResourceIn, user: User = Dependency(skip_validation=True)) -> ResourceOut:
        return typed(ResourceOut, await rules.add_resource(program_id, as_dict(data), user=user))

    @post("/programs/{program_id:int}/resources/order", status_code=200)
    async def order(self, program_id: int, data: OrderIn, user: User = Dependency(skip_validation=True)) -> list[ResourceOut]:
        return typed(list[ResourceOut], await rules.reorder(program_id, data.ids, user=user))

    @post("/programs/{program_id:int}/resources/review", status_code=201)
    async def review(self, program_id: int, data: ReviewIn, user: User = Dependency(skip_validation=True)) -> ReviewOut:
        return typed(ReviewOut, await rules.review_country(program_id, as_dict(data), user=user, now=utcnow()))

    @patch("/resources/{resource_id:int}")
    async def change(self, resource_id: int, data: ResourcePatch, user: User = Dependency(skip_validation=True)) -> ResourceOut:
        return typed(ResourceOut, await rules.update_resource(resource_id, as_dict(data), user=user))


@get("/programs/{program_id:int}/resources", include_in_schema=False)
async def resources_page(request: Request, program_id: int, user: User = Dependency(skip_validation=True)) -> Template:
    data = await rules.all_resources(program_id, user=user)
    program = await get_program(program_id, user=user)
    t = translations(current_language.get()).gettext
    kinds = [(k, t(KIND_LABELS[k])) for k in rules.KINDS]
    return Template("resources/manage.html", context={
        "user": user, "program": program, **data, "kinds": kinds, "kind_names": dict(kinds),
        "country_name": country_name(program["country"], current_language.get()), "today": utcnow().date().isoformat(),
        "error": request.query_params.get("e"), "message": request.query_params.get("m")})


@post("/programs/{program_id:int}/resources", include_in_schema=False, status_code=200)
async def resources_action(request: Request, program_id: int, user: User = Dependency(skip_validation=True)) -> Redirect:
    form = await request.form()
    data = {k: form.get(k) for k in form.keys()}
    action = data.pop("action", None) or ("delete" if data.get("delete") == "yes" else "toggle" if "enabled" in data else "edit" if data.get("resource_id") else "add")
    rid = int(data.pop("resource_id")) if str(data.get("resource_id") or "").isdecimal() else None
    try:
        if action == "add":
            await rules.add_resource(program_id, data, user=user)
        elif action == "review":
            await rules.review_country(program_id, data, user=user, now=utcnow())
        elif rid is None or not await rules.belongs(rid, program_id):
            raise PlannerError("That resource was not found.", "not_found")
        elif action == "toggle":
            await rules.update_resource(rid, {"enabled": data.get("enabled") == "1"}, user=user)
        elif action == "edit":
            await rules.update_resource(rid, data, user=user)
        elif action == "delete":
            await rules.delete_resource(rid, user=user)
        elif action in ("up", "down"):
            await rules.move(rid, -1 if action == "up" else 1, user=user)
        else:
            raise PlannerError("Unknown action.", "not_found")
    except PlannerError as exc:
        if exc.code in ("unauthorized", "forbidden", "not_found"):
            raise  # answered like every other page: login, 403 or 404
        return Redirect(f"/programs/{program_id}/resources?e={quote(exc.message)}", status_code=303)
    return Redirect(f"/programs/{program_id}/resources?m={action}#r{rid or ''}", status_code=303)


def routes() -> list:
    return [ResourceController, resources_page, resources_action, *help_web.routes()]
