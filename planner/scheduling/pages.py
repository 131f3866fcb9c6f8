"""Scheduling pages for organizers: spaces, hosts, the day schedule, and activities (new, edit, copy)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from planner.changes import activities as activity_changes
from planner.changes import spaces as space_changes
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.programs import rules as program_rules
from planner.programs.pages import program_action, program_context
from planner.scheduling import activities as sched_activities
from planner.scheduling import hosts as sched_hosts
from planner.scheduling import schedule as sched_schedule
from planner.scheduling import spaces as sched_spaces
from planner.scheduling.tables import Host
from planner.web_common import Form, NoCheck, User, delete_after_confirming, need_login, page, save_or_show


@post("/programs/{program_id:int}/spaces", include_in_schema=False, status_code=200)
async def space_create(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    form = dict(data)
    form["counts_presence"] = form.get("counts_presence") == "on"
    return await program_action(program_id, user, lambda: space_changes.add_space(program_id, form, user=user), "space")


@post("/programs/{program_id:int}/hosts", include_in_schema=False, status_code=200)
async def host_create(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    body = {"name": data.get("name"), "email": data.get("email") or None}
    return await program_action(program_id, user, lambda: sched_hosts.add_host(program_id, body, user=user), "host")


@get("/programs/{program_id:int}/schedule", include_in_schema=False)
async def schedule_page(request: Request, program_id: int, user: User = NoCheck, day: str | None = None) -> Template:
    need_login(user)
    program = await program_rules.get_program(program_id, user=user)
    first, last = date.fromisoformat(program["starts_on"]), date.fromisoformat(program["ends_on"])
    try:
        d = date.fromisoformat(day) if day else first
    except ValueError:
        d = first
    d = min(max(d, first), last)
    data = await sched_schedule.day_schedule(program_id, d, user=user)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    data["program"] = program
    created = None
    cid = request.query_params.get("created")
    if cid and cid.isdecimal():
        try:
            created = await sched_activities.get_activity(int(cid), user=user)
        except PlannerError:
            created = None
    return page("scheduling/schedule.html", user, days=days, **data, created=created,
                copied=request.query_params.get("copied"))


@get("/programs/{program_id:int}/activities/new", include_in_schema=False)
async def activity_new(request: Request, program_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    ctx = await program_context(program_id, user)
    return page("scheduling/activity_form.html", user, **ctx, error=None, clash=None,
                form={"kind": request.query_params.get("kind", "activation"), "capacity": "10",
                      "starts_at": f"{ctx['program']['starts_on']}T10:00", "ends_at": f"{ctx['program']['starts_on']}T11:00"})


CLEARABLE = ("description", "what_to_bring", "rsvp_deadline", "kit_id")


def _activity_form(data: dict, host_ids: list[str]) -> dict:
    form: dict[str, Any] = {k: v for k, v in data.items() if v not in ("", None)}
    form["published"] = data.get("published") == "on"
    form["host_ids"] = host_ids
    for key in CLEARABLE:
        # An emptied field clears the value (an RSVP deadline removed, no kit any more).
        form[key] = data.get(key) or ""
    if data.get("no_deadline") == "on":
        form["rsvp_deadline"] = ""
    return form


@post("/programs/{program_id:int}/activities/new", include_in_schema=False, status_code=200)
async def activity_create(request: Request, program_id: int, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    raw = await request.form()
    data = {k: raw.get(k) for k in raw.keys()}
    form = _activity_form(data, raw.getall("host_ids", []))
    try:
        a = await activity_changes.create_activity(program_id, form, user=user, now=utcnow())
    except PlannerError as exc:
        ctx = await program_context(program_id, user)
        return page("scheduling/activity_form.html", user, status_code=exc.status_code, **ctx, error=exc.message,
                    clash=exc.extra if exc.code == "clash" else None, form=data)
    day = a["starts_at"][:10]
    return Redirect(f"/programs/{program_id}/schedule?day={day}&created={a['id']}", status_code=303)


@get("/activities/{activity_id:int}/duplicate", include_in_schema=False)
async def activity_duplicate_form(request: Request, activity_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    a = await sched_activities.get_activity(activity_id, user=user)
    program = await program_rules.get_program(a["program_id"], user=user)
    return page("scheduling/duplicate.html", user, activity=a, program=program, days=_days(program), error=None)


@post("/activities/{activity_id:int}/duplicate", include_in_schema=False, status_code=200)
async def activity_duplicate(request: Request, activity_id: int, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    raw = await request.form()
    a = await sched_activities.get_activity(activity_id, user=user)
    try:
        made = await activity_changes.duplicate_activity(activity_id, raw.getall("days", []), user=user, now=utcnow())
    except PlannerError as exc:
        program = await program_rules.get_program(a["program_id"], user=user)
        return page("scheduling/duplicate.html", user, status_code=exc.status_code, activity=a, program=program,
                    days=_days(program), error=exc.message)
    return Redirect(f"/programs/{a['program_id']}/schedule?day={made[0]['day']}&copied={len(made)}", status_code=303)


def _days(program: dict) -> list[date]:
    first, last = date.fromisoformat(program["starts_on"]), date.fromisoformat(program["ends_on"])
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@get("/activities/{activity_id:int}/edit", include_in_schema=False)
async def activity_edit(request: Request, activity_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    a = await sched_activities.get_activity(activity_id, user=user)
    ctx = await program_context(a["program_id"], user)
    form = {**a, "starts_at": a["starts_at"][:16], "ends_at": a["ends_at"][:16],
            "rsvp_deadline": (a["rsvp_deadline"] or "")[:16], "host_ids": [str(h) for h in a["host_ids"]]}
    return page("scheduling/activity_form.html", user, **ctx, error=None, clash=None, form=form, editing=a)


@post("/activities/{activity_id:int}/edit", include_in_schema=False, status_code=200)
async def activity_update(request: Request, activity_id: int, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    a = await sched_activities.get_activity(activity_id, user=user)
    raw = await request.form()
    data = {k: raw.get(k) for k in raw.keys()}
    form = _activity_form(data, raw.getall("host_ids", []))
    form.pop("kind", None)
    form.pop("slot_minutes", None)
    form["overbook_ok"] = data.get("overbook_ok") == "on"
    form.setdefault("rsvp_deadline", None)
    try:
        await activity_changes.update_activity(activity_id, form, user=user, now=utcnow())
    except PlannerError as exc:
        ctx = await program_context(a["program_id"], user)
        data["host_ids"] = raw.getall("host_ids", [])
        return page("scheduling/activity_form.html", user, status_code=exc.status_code, **ctx, error=exc.message,
                    clash=exc.extra if exc.code == "clash" else None, form={**data, "kind": a["kind"]}, editing=a)
    return Redirect(f"/activities/{activity_id}/manage?m=saved", status_code=303)


@post("/programs/{program_id:int}/unavailability", include_in_schema=False, status_code=200)
async def host_away(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)

    async def away() -> None:
        host_id = int(data.get("host_id") or 0) if str(data.get("host_id") or "0").isdecimal() else 0
        if not await Host.exists().where((Host.id == host_id) & (Host.program == program_id)):
            raise PlannerError("Pick a host of this programme.", "not_found")
        await sched_hosts.add_unavailability(host_id, data, user=user)

    return await program_action(program_id, user, away, "host")


async def _space_ctx(space_id: int, user: User) -> dict:
    usage = await sched_spaces.space_usage(space_id, user=user)
    program = await program_rules.get_program(usage["space"]["program_id"], user=user)
    return {"space": usage["space"], "activities": usage["activities"], "program": program}


@get("/spaces/{space_id:int}/edit", include_in_schema=False)
async def space_edit(request: Request, space_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    ctx = await _space_ctx(space_id, user)
    return page("scheduling/space_edit.html", user, **ctx, form=ctx["space"], error=None)


@post("/spaces/{space_id:int}/edit", include_in_schema=False, status_code=200)
async def space_update(request: Request, space_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    form = {**data, "counts_presence": data.get("counts_presence") == "on"}
    return await save_or_show(user, "scheduling/space_edit.html", lambda: _space_ctx(space_id, user),
                              lambda: sched_spaces.update_space(space_id, form, user=user), form=form,
                              done=lambda s: f"/programs/{s['program_id']}?m=saved")


@post("/spaces/{space_id:int}/delete", include_in_schema=False, status_code=200)
async def space_delete(request: Request, space_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    ctx = await _space_ctx(space_id, user)
    return await delete_after_confirming(user, "scheduling/space_edit.html", ctx, ctx["space"], data.get("confirmed"),
                                         lambda: space_changes.delete_space(space_id, user=user), f"/programs/{ctx['program']['id']}?m=deleted")


async def _host_ctx(host_id: int, user: User) -> dict:
    usage = await sched_hosts.host_usage(host_id, user=user)
    program = await program_rules.get_program(usage["host"]["program_id"], user=user)
    return {"host": usage["host"], "activities": usage["activities"], "program": program}


@get("/hosts/{host_id:int}/edit", include_in_schema=False)
async def host_edit(request: Request, host_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    ctx = await _host_ctx(host_id, user)
    return page("scheduling/host_edit.html", user, **ctx, form=ctx["host"], error=None)


@post("/hosts/{host_id:int}/edit", include_in_schema=False, status_code=200)
async def host_update(request: Request, host_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    return await save_or_show(user, "scheduling/host_edit.html", lambda: _host_ctx(host_id, user),
                              lambda: sched_hosts.update_host(host_id, {"name": data.get("name"), "email": data.get("email") or None}, user=user),
                              form=dict(data), done=lambda h: f"/programs/{h['program_id']}?m=saved")


@post("/hosts/{host_id:int}/delete", include_in_schema=False, status_code=200)
async def host_delete(request: Request, host_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    ctx = await _host_ctx(host_id, user)
    return await delete_after_confirming(user, "scheduling/host_edit.html", ctx, ctx["host"], data.get("confirmed"),
                                         lambda: sched_hosts.delete_host(host_id, user=user), f"/programs/{ctx['program']['id']}?m=deleted")


HANDLERS = [space_create, host_create, schedule_page, activity_new, activity_create, activity_duplicate_form, activity_duplicate, activity_edit, activity_update, host_away, space_edit, space_update,
            space_delete, host_edit, host_update, host_delete]
