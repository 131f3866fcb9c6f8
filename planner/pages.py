"""Server-rendered pages for organizers and guests. Each handler parses the form, calls one rule, renders."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Dependency
from litestar.response import Redirect, Template

from planner.accounts import team
from planner.clock import local, utcnow
from planner.errors import PlannerError
from planner.reports import feedback
from planner.resources.rules import review_status
from planner.rsvps import rules as rsvps
from planner.rsvps.tables import Rsvp
from planner.scheduling import rules as sched
from planner.scheduling.tables import Activity, Space
from planner import i18n
from planner.i18n import current_language

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
User = dict | None
NoCheck = Dependency(skip_validation=True)


def page(name: str, user: User, status_code: int = 200, **context: Any) -> Template:
    return Template(name, context={"user": user, **context}, status_code=status_code)


def _need(user: User, request: Request) -> None:
    if user is None:
        raise PlannerError("Log in first.", "unauthorized")


# ---------------------------------------------------------------- organizer

@get("/", include_in_schema=False)
async def home(request: Request, user: User = NoCheck) -> Template | Redirect:
    if user is None:
        return Redirect("/login")
    programs = await sched.list_programs(user=user)
    return page("scheduling/home.html", user, programs=programs)


@get("/programs/new", include_in_schema=False)
async def program_new(request: Request, user: User = NoCheck) -> Template:
    _need(user, request)
    return page("scheduling/program_form.html", user, error=None, form={"timezone": "America/New_York", "country": "US"})


@post("/programs/new", include_in_schema=False, status_code=200)
async def program_create(request: Request, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    form = dict(data)
    form["languages"] = [x.strip() for x in str(form.get("languages") or "en").split(",") if x.strip()]
    try:
        p = await sched.create_program(form, user=user)
    except PlannerError as exc:
        return page("scheduling/program_form.html", user, status_code=exc.status_code, error=exc.message, form=data)
    return Redirect(f"/programs/{p['id']}", status_code=303)


async def _program_context(program_id: int, user: User) -> dict:
    program = await sched.get_program(program_id, user=user)
    role = (await _role(user, program_id))
    spaces = await sched.list_spaces(program_id, user=user)
    hosts = await sched.list_hosts(program_id, user=user)
    activities = await sched.list_activities(program_id, user=user)
    names = {s["id"]: s["name"] for s in spaces}
    for a in activities:
        a["space_name"] = names.get(a["space_id"], "")
        a["confirmed"] = sum(s["confirmed"] for s in a["slots"])
        a["waiting"] = sum(s["waiting"] for s in a["slots"])
        a["seats"] = sum(s["capacity"] for s in a["slots"]) if a["kind"] == "activation" else a["capacity"]
    members = await team.list_members(program_id, user=user) if role == "organizer" else []
    review = await review_status(program_id) if role == "organizer" else None
    return {"program": program, "role": role, "spaces": spaces, "hosts": hosts, "activities": activities, "members": members,
            "resources_review": review}


async def _role(user: User, program_id: int) -> str | None:
    from planner.accounts.rules import role_in

    return await role_in(user["id"], program_id) if user else None


@get("/programs/{program_id:int}", include_in_schema=False)
async def program_page(request: Request, program_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    ctx = await _program_context(program_id, user)
    return page("scheduling/program.html", user, **ctx, error=None, message=request.query_params.get("m"))


async def _program_action(program_id: int, user: User, action, done: str) -> Template | Redirect:
    """Run one rule for a form on the programme page: back to the page with its message, or the page again with the error."""
    try:
        await action()
    except PlannerError as exc:
        ctx = await _program_context(program_id, user)
        return page("scheduling/program.html", user, status_code=exc.status_code, **ctx, error=exc.message, message=None)
    return Redirect(f"/programs/{program_id}?m={done}", status_code=303)


@post("/programs/{program_id:int}/spaces", include_in_schema=False, status_code=200)
async def space_create(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    form = dict(data)
    form["counts_presence"] = form.get("counts_presence") == "on"
    return await _program_action(program_id, user, lambda: sched.add_space(program_id, form, user=user), "space")


@post("/programs/{program_id:int}/hosts", include_in_schema=False, status_code=200)
async def host_create(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    body = {"name": data.get("name"), "email": data.get("email") or None}
    return await _program_action(program_id, user, lambda: sched.add_host(program_id, body, user=user), "host")


@get("/programs/{program_id:int}/schedule", include_in_schema=False)
async def schedule_page(request: Request, program_id: int, user: User = NoCheck, day: str | None = None) -> Template:
    _need(user, request)
    program = await sched.get_program(program_id, user=user)
    first, last = date.fromisoformat(program["starts_on"]), date.fromisoformat(program["ends_on"])
    try:
        d = date.fromisoformat(day) if day else first
    except ValueError:
        d = first
    d = min(max(d, first), last)
    data = await sched.day_schedule(program_id, d, user=user)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    data["program"] = program
    return page("scheduling/schedule.html", user, days=days, **data)


@get("/programs/{program_id:int}/activities/new", include_in_schema=False)
async def activity_new(request: Request, program_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    ctx = await _program_context(program_id, user)
    return page("scheduling/activity_form.html", user, **ctx, error=None, clash=None,
                form={"kind": request.query_params.get("kind", "activation"), "capacity": "10",
                      "starts_at": f"{ctx['program']['starts_on']}T10:00", "ends_at": f"{ctx['program']['starts_on']}T11:00"})


def _activity_form(data: dict, host_ids: list[str]) -> dict:
    form: dict[str, Any] = {k: v for k, v in data.items() if v not in ("", None)}
    form["published"] = data.get("published") == "on"
    form["host_ids"] = host_ids
    if form.get("slot_minutes"):
        form["slot_minutes"] = form["slot_minutes"]
    return form


@post("/programs/{program_id:int}/activities/new", include_in_schema=False, status_code=200)
async def activity_create(request: Request, program_id: int, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    raw = await request.form()
    data = {k: raw.get(k) for k in raw.keys()}
    form = _activity_form(data, raw.getall("host_ids", []))
    try:
        a = await sched.create_activity(program_id, form, user=user, now=utcnow())
    except PlannerError as exc:
        ctx = await _program_context(program_id, user)
        return page("scheduling/activity_form.html", user, status_code=exc.status_code, **ctx, error=exc.message,
                    clash=exc.extra if exc.code == "clash" else None, form=data)
    day = a["starts_at"][:10]
    return Redirect(f"/programs/{program_id}/schedule?day={day}&created={a['id']}", status_code=303)


@get("/activities/{activity_id:int}/edit", include_in_schema=False)
async def activity_edit(request: Request, activity_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    a = await sched.get_activity(activity_id, user=user)
    ctx = await _program_context(a["program_id"], user)
    form = {**a, "starts_at": a["starts_at"][:16], "ends_at": a["ends_at"][:16],
            "rsvp_deadline": (a["rsvp_deadline"] or "")[:16], "host_ids": [str(h) for h in a["host_ids"]]}
    return page("scheduling/activity_form.html", user, **ctx, error=None, clash=None, form=form, editing=a)


@post("/activities/{activity_id:int}/edit", include_in_schema=False, status_code=200)
async def activity_update(request: Request, activity_id: int, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    a = await sched.get_activity(activity_id, user=user)
    raw = await request.form()
    data = {k: raw.get(k) for k in raw.keys()}
    form = _activity_form(data, raw.getall("host_ids", []))
    form.pop("kind", None)
    form.pop("slot_minutes", None)
    form["overbook_ok"] = data.get("overbook_ok") == "on"
    form.setdefault("rsvp_deadline", None)
    try:
        await sched.update_activity(activity_id, form, user=user, now=utcnow())
    except PlannerError as exc:
        ctx = await _program_context(a["program_id"], user)
        data["host_ids"] = raw.getall("host_ids", [])
        return page("scheduling/activity_form.html", user, status_code=exc.status_code, **ctx, error=exc.message,
                    clash=exc.extra if exc.code == "clash" else None, form={**data, "kind": a["kind"]}, editing=a)
    return Redirect(f"/activities/{activity_id}/manage?m=saved", status_code=303)


@post("/programs/{program_id:int}/members", include_in_schema=False, status_code=200)
async def member_add(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    return await _program_action(program_id, user, lambda: team.add_member(program_id, data, user=user, now=utcnow()), "member")


@post("/programs/{program_id:int}/unavailability", include_in_schema=False, status_code=200)
async def host_away(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    from planner.scheduling.tables import Host

    async def away() -> None:
        host_id = int(data.get("host_id") or 0) if str(data.get("host_id") or "0").isdigit() else 0
        if not await Host.exists().where((Host.id == host_id) & (Host.program == program_id)):
            raise PlannerError("Pick a host of this programme.", "not_found")
        await sched.add_unavailability(host_id, data, user=user)

    return await _program_action(program_id, user, away, "host")


@get("/activities/{activity_id:int}/manage", include_in_schema=False)
async def activity_manage(request: Request, activity_id: int, user: User = NoCheck, sensitive: bool = False) -> Template:
    _need(user, request)
    activity = await sched.get_activity(activity_id, user=user)
    program = await sched.get_program(activity["program_id"], user=user)
    role = await _role(user, program["id"])
    rows = await rsvps.list_rsvps(activity_id, user=user, include_sensitive=sensitive, now=utcnow()) if role == "organizer" else []
    groups: dict[str, list] = {k: [] for k in ("confirmed", "offered", "waitlisted", "applied", "declined", "cancelled")}
    for r in rows:
        groups.setdefault(r["status"], []).append(r)
    groups["waitlisted"].sort(key=lambda r: r.get("waitlist_position") or 0)
    questions = await rsvps.questions_for(activity_id)
    invitations = await rsvps.list_invitations(activity_id, user=user) if role == "organizer" and activity["rsvp_mode"] == "invite" else []
    space = await Space.select(Space.name).where(Space.id == activity["space_id"]).first()
    seats = sum(s["capacity"] for s in activity["slots"]) if activity["kind"] == "activation" else activity["capacity"]
    confirmed = sum(s["confirmed"] for s in activity["slots"])
    return page("rsvps/manage.html", user, activity=activity, program=program, groups=groups, questions=questions,
                invitations=invitations, space=space, seats=seats, confirmed=confirmed, role=role,
                sensitive=sensitive, message=request.query_params.get("m"), error=request.query_params.get("e"))


@post("/activities/{activity_id:int}/manage/{action:str}", include_in_schema=False, status_code=200)
async def activity_action(request: Request, activity_id: int, action: str, user: User = NoCheck) -> Redirect:
    _need(user, request)
    raw = await request.form()
    data = {k: raw.get(k) for k in raw.keys()}
    now = utcnow()
    msg = "done"
    try:
        if action in ("approve", "decline", "waitlist", "remove"):
            fn = {"approve": rsvps.approve, "decline": rsvps.decline, "waitlist": rsvps.waitlist, "remove": rsvps.remove}[action]
            kwargs = {"reason": data.get("reason", "")} if action in ("decline", "remove") else {}
            await fn(data.get("rsvp_id"), user=user, now=now, **kwargs)
        elif action == "bulk":
            ids = raw.getall("rsvp_ids", [])
            await rsvps.bulk(activity_id, data.get("bulk_action", ""), [int(i) for i in ids if str(i).isdigit()], user=user, now=now)
        elif action == "reorder":
            await rsvps.reorder(data.get("rsvp_id"), data.get("position"), user=user, reason=data.get("reason", ""), now=now)
        elif action == "move":
            await rsvps.move(data.get("rsvp_id"), data.get("slot_id"), user=user, now=now)
        elif action == "invite":
            await rsvps.invite(activity_id, data, user=user, now=now)
        elif action == "question":
            data["sensitive"] = data.get("sensitive") == "on"
            data["per_guest"] = data.get("per_guest") == "on"
            data["required"] = data.get("required") == "on"
            await rsvps.add_question(activity_id, data, user=user)
        elif action == "publish":
            await sched.update_activity(activity_id, {"published": True}, user=user, now=now)
        elif action == "cancel":
            await sched.cancel_activity(activity_id, {"reason": data.get("reason", "")}, user=user, now=now)
        else:
            raise PlannerError("Unknown action.", "not_found")
    except PlannerError as exc:
        if exc.code in ("unauthorized", "forbidden", "not_found"):
            raise  # answered like every other page: login, 403 or 404, and nothing about the activity
        from urllib.parse import quote

        return Redirect(f"/activities/{activity_id}/manage?e={quote(exc.message)}", status_code=303)
    return Redirect(f"/activities/{activity_id}/manage?m={action}", status_code=303)


# ---------------------------------------------------------------- guests

async def _public_activity(activity_id: int) -> tuple[dict, dict, dict]:
    a = await Activity.select().where(Activity.id == activity_id).first()
    if not a or not a["published"]:
        raise PlannerError("That activity was not found.", "not_found")
    from planner.scheduling.tables import Program

    p = await Program.select().where(Program.id == a["program"]).first()
    out = await sched.activity_out(a, p["timezone"])
    space = await Space.select().where(Space.id == a["space"]).first()
    return out, p, space


async def _resources(program_id: int) -> list[dict]:
    from planner.resources.tables import SupportResource

    return await SupportResource.select().where((SupportResource.program == program_id) & (SupportResource.enabled == True)).order_by(SupportResource.position)  # noqa: E712


@get("/a/{activity_id:int}", include_in_schema=False)
async def activity_public(request: Request, activity_id: int, invite: str | None = None) -> Template:
    a, p, space = await _public_activity(activity_id)
    i18n.settle_for_program(p["languages"])
    questions = await rsvps.questions_for(activity_id)
    invitation = None
    if invite:
        from planner.rsvps.tables import Invitation

        invitation = await Invitation.select().where((Invitation.code == invite) & (Invitation.activity == activity_id)).first()
    return page("rsvps/activity.html", None, activity=a, program=p, space=space, questions=questions,
                invite=invite, invitation=invitation, error=None, form={}, resources=await _resources(p["id"]),
                closed=_closed(a))


def _closed(a: dict) -> str | None:
    from datetime import datetime

    if a["cancelled"]:
        return "cancelled"
    now = utcnow()
    if a["rsvp_deadline"] and datetime.fromisoformat(a["rsvp_deadline"]) < now:
        return "deadline"
    if datetime.fromisoformat(a["ends_at"]) < now:
        return "over"
    return None


@post("/a/{activity_id:int}", include_in_schema=False, status_code=200)
async def activity_rsvp(request: Request, activity_id: int) -> Template | Redirect:
    raw = await request.form()
    form = {k: raw.get(k) for k in raw.keys()}
    questions = await rsvps.questions_for(activity_id)
    answers: dict[str, Any] = {}
    for q in questions:
        v = form.get(f"q{q['id']}")
        if q["kind"] == "yesno":
            if v in ("yes", "no"):
                answers[str(q["id"])] = v == "yes"
        elif v not in (None, ""):
            answers[str(q["id"])] = v
    body = {"name": form.get("name"), "email": form.get("email"), "guests": form.get("guests") or 0,
            "slot_id": form.get("slot_id") or None, "answers": answers, "invite_code": form.get("invite") or None}
    try:
        a, p, _space = await _public_activity(activity_id)
        i18n.settle_for_program(p["languages"])
        out, created = await rsvps.create_rsvp(activity_id, body, now=utcnow(), language=current_language.get())
    except PlannerError as exc:
        a, p, space = await _public_activity(activity_id)
        return page("rsvps/activity.html", None, status_code=exc.status_code, activity=a, program=p, space=space,
                    questions=questions, invite=form.get("invite"), invitation=None, error=exc.message, form=form,
                    resources=await _resources(p["id"]), closed=_closed(a))
    if not created:
        a, p, space = await _public_activity(activity_id)
        return page("rsvps/check_email.html", None, activity=a, program=p)
    return Redirect("/r/" + out["manage_url"].split("/r/", 1)[1] + f"&new=1&lang={current_language.get()}", status_code=303)


async def _guest_context(rsvp_id: int, token: str | None) -> dict:
    r = await rsvps.get_guest_rsvp(rsvp_id, token)
    a, p, space = await _public_activity_any(r["activity_id"])
    slot = next((s for s in a["slots"] if s["id"] == r["slot_id"]), None)
    from planner.calendar.feeds import guest_feed_url

    return {"rsvp": r, "activity": a, "program": p, "space": space, "slot": slot, "token": token,
            "resources": await _resources(p["id"]), "feedback": await feedback.offer({"id": r["id"], "program": p["id"]}),
            "calendar_feed": guest_feed_url(p["id"], r["id"], r["email"], as_webcal=True)}


async def _guest_language(ctx: dict) -> None:
    """The guest's page speaks the language they RSVPed in, wherever they open it, unless they pick
    another here: that choice is then kept for every later e-mail too."""
    rsvp_id = ctx["rsvp"]["id"]
    source = i18n.language_source.get()
    if source == "asked":
        await Rsvp.update({Rsvp.language: current_language.get()}).where(
            (Rsvp.id == rsvp_id) & (Rsvp.language != current_language.get()))
        return
    row = await Rsvp.select(Rsvp.language).where(Rsvp.id == rsvp_id).first()
    if row and i18n.supported(row["language"]):
        i18n.use(i18n.supported(row["language"]), "rsvp")
    else:
        i18n.settle_for_program(ctx["program"]["languages"])


async def _public_activity_any(activity_id: int) -> tuple[dict, dict, dict]:
    from planner.scheduling.tables import Program

    a = await Activity.select().where(Activity.id == activity_id).first()
    p = await Program.select().where(Program.id == a["program"]).first()
    out = await sched.activity_out(a, p["timezone"])
    space = await Space.select().where(Space.id == a["space"]).first()
    return out, p, space


@get("/r/{rsvp_id:int}", include_in_schema=False)
async def guest_page(request: Request, rsvp_id: int, token: str | None = None) -> Template:
    ctx = await _guest_context(rsvp_id, token)
    await _guest_language(ctx)
    return page("rsvps/guest.html", None, **ctx, error=None, new=request.query_params.get("new") == "1",
                message=request.query_params.get("m"))


@post("/r/{rsvp_id:int}/{action:str}", include_in_schema=False, status_code=200)
async def guest_action(request: Request, rsvp_id: int, action: str, token: str | None = None) -> Template | Redirect:
    raw = await request.form()
    token = token or raw.get("token")
    now = utcnow()
    try:
        if action == "cancel":
            await rsvps.cancel_guest(rsvp_id, token, now=now)
        elif action == "guests":
            await rsvps.change_guests(rsvp_id, token, raw.get("guests"), now=now)
        elif action == "accept":
            await rsvps.accept_offer(rsvp_id, token, now=now)
        elif action == "erase":
            from planner.rsvps.privacy import erase_guest

            await erase_guest(rsvp_id, token, now=now)
            return page("rsvps/erased.html", None)
        else:
            raise PlannerError("Unknown action.", "not_found")
    except PlannerError as exc:
        if exc.code == "not_found":
            raise
        ctx = await _guest_context(rsvp_id, token)
        await _guest_language(ctx)
        return page("rsvps/guest.html", None, status_code=exc.status_code, **ctx, error=exc.message, new=False, message=None)
    return Redirect(f"/r/{rsvp_id}?token={token}&m={action}", status_code=303)


@get("/p/{program_id:int}", include_in_schema=False)
async def program_public(request: Request, program_id: int) -> Template:
    p = await sched.program_row(program_id)
    i18n.settle_for_program(p["languages"])
    acts = await sched.list_activities(program_id, user=None, published_only=True)
    from planner.calendar.feeds import program_feed_url

    return page("rsvps/program_public.html", None, program=p, activities=acts, resources=await _resources(program_id),
                feed_url=program_feed_url(program_id, as_webcal=True))


def page_handlers() -> list:
    return [home, program_new, program_create, program_page, space_create, host_create, schedule_page,
            activity_new, activity_create, activity_edit, activity_update, member_add, host_away, activity_manage, activity_action,
            activity_public, activity_rsvp, guest_page, guest_action, program_public]
