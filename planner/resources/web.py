"""Support resources: the public list (API.md) and the organizers' page to edit, add and disable entries."""
from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import Dependency
from litestar.response import Redirect, Template

from planner.errors import PlannerError
from planner.resources import rules
from planner.web_common import as_dict

UNSET = msgspec.UNSET
User = dict | None


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


class ResourceController(Controller):
    path = "/api"
    tags = ["resources"]

    @get("/programs/{program_id:int}/resources")
    async def public(self, program_id: int) -> list[dict[str, Any]]:
        return await rules.public_resources(program_id)

    @post("/programs/{program_id:int}/resources", status_code=201)
    async def add(self, program_id: int, data: ResourceIn, user: User = Dependency(skip_validation=True)) -> dict[str, Any]:
        return await rules.add_resource(program_id, as_dict(data), user=user)

    @patch("/resources/{resource_id:int}")
    async def change(self, resource_id: int, data: ResourcePatch, user: User = Dependency(skip_validation=True)) -> dict[str, Any]:
        return await rules.update_resource(resource_id, as_dict(data), user=user)


@get("/programs/{program_id:int}/resources", include_in_schema=False)
async def resources_page(request: Request, program_id: int, user: User = Dependency(skip_validation=True)) -> Template:
    data = await rules.all_resources(program_id, user=user)
    from planner.scheduling.rules import get_program

    program = await get_program(program_id, user=user)
    return Template("resources/manage.html", context={"user": user, "program": program, **data,
                                                       "error": request.query_params.get("e"), "message": request.query_params.get("m")})


@post("/programs/{program_id:int}/resources", include_in_schema=False, status_code=200)
async def resources_action(request: Request, program_id: int, user: User = Dependency(skip_validation=True)) -> Redirect:
    from urllib.parse import quote

    form = await request.form()
    data = {k: form.get(k) for k in form.keys()}
    try:
        if data.get("resource_id"):
            change = {"enabled": data.get("enabled") == "1"} if "enabled" in data else {k: v for k, v in data.items() if k != "resource_id"}
            await rules.update_resource(int(data["resource_id"]), change, user=user)
        else:
            await rules.add_resource(program_id, data, user=user)
    except PlannerError as exc:
        if exc.code in ("unauthorized", "forbidden", "not_found"):
            raise  # answered like every other page: login, 403 or 404
        return Redirect(f"/programs/{program_id}/resources?e={quote(exc.message)}", status_code=303)
    return Redirect(f"/programs/{program_id}/resources?m=saved", status_code=303)


def routes() -> list:
    return [ResourceController, resources_page, resources_action]
