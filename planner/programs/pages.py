"""Programme pages for organizers: the list of programmes, a programme's page, creating and editing one,
adding a member."""
from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from planner.changes import programs as program_changes
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.inventory import items as inventory_items
from planner.programs import rules as program_rules
from planner.programs import team
from planner.programs.rules import role_in
from planner.resources.rules import review_status
from planner.scheduling import activities as sched_activities
from planner.scheduling import hosts as sched_hosts
from planner.scheduling import spaces as sched_spaces
from planner.web_common import Form, NoCheck, User, need_login, page


@get("/", include_in_schema=False)
async def home(request: Request, user: User = NoCheck) -> Template | Redirect:
    if user is None:
        return Redirect("/login")
    programs = await program_rules.list_programs(user=user)
    return page("scheduling/home.html", user, programs=programs, message=request.query_params.get("m"))


@get("/programs/new", include_in_schema=False)
async def program_new(request: Request, user: User = NoCheck) -> Template:
    need_login(user)
    return page("scheduling/program_form.html", user, error=None, form={"timezone": "America/New_York", "country": "US"})


@post("/programs/new", include_in_schema=False, status_code=200)
async def program_create(request: Request, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    form = dict(data)
    form["languages"] = [x.strip() for x in str(form.get("languages") or "en").split(",") if x.strip()]
    try:
        p = await program_changes.create_program(form, user=user)
    except PlannerError as exc:
        return page("scheduling/program_form.html", user, status_code=exc.status_code, error=exc.message, form=data)
    return Redirect(f"/programs/{p['id']}", status_code=303)


async def program_context(program_id: int, user: User) -> dict:
    program = await program_rules.get_program(program_id, user=user)
    role = (await role_of(user, program_id))
    spaces = await sched_spaces.list_spaces(program_id, user=user)
    hosts = await sched_hosts.list_hosts(program_id, user=user)
    activities = await sched_activities.list_activities(program_id, user=user)
    names = {s["id"]: s["name"] for s in spaces}
    for a in activities:
        a["space_name"] = names.get(a["space_id"], "")
        a["confirmed"] = sum(s["confirmed"] for s in a["slots"])
        a["waiting"] = sum(s["waiting"] for s in a["slots"])
        a["seats"] = sum(s["capacity"] for s in a["slots"]) if a["kind"] == "activation" else a["capacity"]
    members = await team.list_members(program_id, user=user) if role == "organizer" else []
    kits = await inventory_items.list_kits(program_id, user=user)
    review = await review_status(program_id) if role == "organizer" else None
    return {"program": program, "role": role, "spaces": spaces, "hosts": hosts, "activities": activities, "members": members,
            "kits": kits, "resources_review": review}


async def role_of(user: User, program_id: int) -> str | None:
    return await role_in(user["id"], program_id) if user else None


@get("/programs/{program_id:int}", include_in_schema=False)
async def program_page(request: Request, program_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    ctx = await program_context(program_id, user)
    return page("scheduling/program.html", user, **ctx, error=None, message=request.query_params.get("m"))


async def program_action(program_id: int, user: User, action, done: str) -> Template | Redirect:
    """Run one rule for a form on the programme page: back to the page with its message, or the page again with the error."""
    try:
        await action()
    except PlannerError as exc:
        ctx = await program_context(program_id, user)
        return page("scheduling/program.html", user, status_code=exc.status_code, **ctx, error=exc.message, message=None)
    return Redirect(f"/programs/{program_id}?m={done}", status_code=303)


@post("/programs/{program_id:int}/members", include_in_schema=False, status_code=200)
async def member_add(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    return await program_action(program_id, user, lambda: team.add_member(program_id, data, user=user, now=utcnow()), "member")



@get("/programs/{program_id:int}/edit", include_in_schema=False)
async def program_edit(request: Request, program_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    program = await program_rules.get_program(program_id, user=user)
    form = {**program, "languages": ", ".join(program["languages"])}
    return page("scheduling/program_edit.html", user, program=program, form=form, error=None)


@post("/programs/{program_id:int}/edit", include_in_schema=False, status_code=200)
async def program_update(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    form = dict(data)
    body = {**form, "languages": [x.strip() for x in str(form.get("languages") or "en").split(",") if x.strip()]}
    try:
        await program_rules.update_program(program_id, body, user=user)
    except PlannerError as exc:
        program = await program_rules.get_program(program_id, user=user)
        return page("scheduling/program_edit.html", user, status_code=exc.status_code, program=program, form=form, error=exc.message)
    return Redirect(f"/programs/{program_id}?m=saved", status_code=303)


@get("/programs/{program_id:int}/delete", include_in_schema=False)
async def program_delete_confirm(request: Request, program_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    program = await program_rules.get_program(program_id, user=user)
    impact = await program_changes.deletion_impact(program_id, user=user, now=utcnow())
    return page("scheduling/confirm_program_delete.html", user, program=program, impact=impact, error=None)


@post("/programs/{program_id:int}/delete", include_in_schema=False, status_code=200)
async def program_delete(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    try:
        await program_changes.delete_program(program_id, user=user, confirm_name=str(data.get("confirm_name") or ""), now=utcnow())
    except PlannerError as exc:
        if exc.code in ("unauthorized", "forbidden", "not_found"):
            raise
        program = await program_rules.get_program(program_id, user=user)
        impact = await program_changes.deletion_impact(program_id, user=user, now=utcnow())
        return page("scheduling/confirm_program_delete.html", user, status_code=exc.status_code, program=program, impact=impact,
                    error=exc.message)
    return Redirect("/?m=program_deleted", status_code=303)


HANDLERS = [home, program_new, program_create, program_page, member_add, program_edit, program_update, program_delete_confirm, program_delete]
