"""Server-rendered pages for organizers and guests. Each handler parses the form, calls one rule, renders."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Dependency
from litestar.response import Redirect, Template

from planner.changes import activities as activity_changes
from planner.changes import programs as program_changes
from planner.changes import spaces as space_changes
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.guest_pages import guest_handlers
from planner.inventory import rules as inventory
from planner.programs import rules as program_rules
from planner.programs import team
from planner.programs.rules import role_in
from planner.resources.rules import review_status
from planner.rsvps import answers as rsvp_answers
from planner.rsvps import invitations as rsvp_invitations
from planner.rsvps import messages
from planner.rsvps import organizer as rsvp_organizer
from planner.rsvps.tables import Rsvp
from planner.scheduling import activities as sched_activities
from planner.scheduling import hosts as sched_hosts
from planner.scheduling import schedule as sched_schedule
from planner.scheduling import spaces as sched_spaces
from planner.scheduling.tables import Host, Space
from planner.tickets.tables import Checkin

# How long a cancellation's e-mails wait in the outbox, so the organizer can undo it.
UNDO_SECONDS = 60

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
    programs = await program_rules.list_programs(user=user)
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
        p = await program_changes.create_program(form, user=user)
    except PlannerError as exc:
        return page("scheduling/program_form.html", user, status_code=exc.status_code, error=exc.message, form=data)
    return Redirect(f"/programs/{p['id']}", status_code=303)


async def _program_context(program_id: int, user: User) -> dict:
    program = await program_rules.get_program(program_id, user=user)
    role = (await _role(user, program_id))
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
    kits = await inventory.list_kits(program_id, user=user)
    review = await review_status(program_id) if role == "organizer" else None
    return {"program": program, "role": role, "spaces": spaces, "hosts": hosts, "activities": activities, "members": members,
            "kits": kits, "resources_review": review}


async def _role(user: User, program_id: int) -> str | None:
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
    return await _program_action(program_id, user, lambda: space_changes.add_space(program_id, form, user=user), "space")


@post("/programs/{program_id:int}/hosts", include_in_schema=False, status_code=200)
async def host_create(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    body = {"name": data.get("name"), "email": data.get("email") or None}
    return await _program_action(program_id, user, lambda: sched_hosts.add_host(program_id, body, user=user), "host")


@get("/programs/{program_id:int}/schedule", include_in_schema=False)
async def schedule_page(request: Request, program_id: int, user: User = NoCheck, day: str | None = None) -> Template:
    _need(user, request)
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
    _need(user, request)
    ctx = await _program_context(program_id, user)
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
    _need(user, request)
    raw = await request.form()
    data = {k: raw.get(k) for k in raw.keys()}
    form = _activity_form(data, raw.getall("host_ids", []))
    try:
        a = await activity_changes.create_activity(program_id, form, user=user, now=utcnow())
    except PlannerError as exc:
        ctx = await _program_context(program_id, user)
        return page("scheduling/activity_form.html", user, status_code=exc.status_code, **ctx, error=exc.message,
                    clash=exc.extra if exc.code == "clash" else None, form=data)
    day = a["starts_at"][:10]
    return Redirect(f"/programs/{program_id}/schedule?day={day}&created={a['id']}", status_code=303)


@get("/activities/{activity_id:int}/duplicate", include_in_schema=False)
async def activity_duplicate_form(request: Request, activity_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    a = await sched_activities.get_activity(activity_id, user=user)
    program = await program_rules.get_program(a["program_id"], user=user)
    return page("scheduling/duplicate.html", user, activity=a, program=program, days=_days(program), error=None)


@post("/activities/{activity_id:int}/duplicate", include_in_schema=False, status_code=200)
async def activity_duplicate(request: Request, activity_id: int, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
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
    _need(user, request)
    a = await sched_activities.get_activity(activity_id, user=user)
    ctx = await _program_context(a["program_id"], user)
    form = {**a, "starts_at": a["starts_at"][:16], "ends_at": a["ends_at"][:16],
            "rsvp_deadline": (a["rsvp_deadline"] or "")[:16], "host_ids": [str(h) for h in a["host_ids"]]}
    return page("scheduling/activity_form.html", user, **ctx, error=None, clash=None, form=form, editing=a)


@post("/activities/{activity_id:int}/edit", include_in_schema=False, status_code=200)
async def activity_update(request: Request, activity_id: int, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
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

    async def away() -> None:
        host_id = int(data.get("host_id") or 0) if str(data.get("host_id") or "0").isdecimal() else 0
        if not await Host.exists().where((Host.id == host_id) & (Host.program == program_id)):
            raise PlannerError("Pick a host of this programme.", "not_found")
        await sched_hosts.add_unavailability(host_id, data, user=user)

    return await _program_action(program_id, user, away, "host")


async def _checkins(activity_id: int) -> dict[int, str]:
    """RSVP id -> the local time of its latest check-in, for the organizer's list."""
    rows = await Checkin.select(Checkin.rsvp, Checkin.checked_in_at).where(Checkin.rsvp.activity == activity_id)
    out: dict[int, Any] = {}
    for r in rows:
        if r["rsvp"] not in out or r["checked_in_at"] > out[r["rsvp"]]:
            out[r["rsvp"]] = r["checked_in_at"]
    return out


@get("/activities/{activity_id:int}/manage", include_in_schema=False)
async def activity_manage(request: Request, activity_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    activity = await sched_activities.get_activity(activity_id, user=user)
    program = await program_rules.get_program(activity["program_id"], user=user)
    role = await _role(user, program["id"])
    organizer = role == "organizer"
    questions = await rsvp_answers.questions_for(activity_id)
    has_sensitive = any(q["sensitive"] for q in questions)
    # Organizers see the sensitive answers they asked for; list_rsvps records each such view in the audit log.
    rows = await rsvp_organizer.list_rsvps(activity_id, user=user, include_sensitive=has_sensitive, now=utcnow()) if organizer else []
    groups: dict[str, list] = {k: [] for k in ("confirmed", "offered", "waitlisted", "applied", "declined", "cancelled")}
    slots = {s["id"]: s for s in activity["slots"]}
    checked = await _checkins(activity_id) if organizer else {}
    for r in rows:
        r["slot"] = slots.get(r["slot_id"])
        r["checked_in_at"] = checked.get(r["id"])
        groups.setdefault(r["status"], []).append(r)
    groups["waitlisted"].sort(key=lambda r: r.get("waitlist_position") or 0)
    invited = await rsvp_invitations.list_invitations(activity_id, user=user) if organizer and activity["rsvp_mode"] == "invite" else []
    answered = {r["email"]: r["status"] for r in rows}
    for inv in invited:
        inv["answer"] = answered.get(inv["email"])
    space = await Space.select(Space.name).where(Space.id == activity["space_id"]).first()
    seats = sum(s["capacity"] for s in activity["slots"]) if activity["kind"] == "activation" else activity["capacity"]
    confirmed = sum(s["confirmed"] for s in activity["slots"])
    kit = next((k for k in await inventory.list_kits(program["id"], user=user) if k["id"] == activity["kit_id"]), None)
    undo_until = None
    if activity["cancelled"] and organizer:
        row = await sched_activities.activity_row(activity_id)
        left = (row["cancelled_at"] + timedelta(seconds=UNDO_SECONDS) - utcnow()).total_seconds()
        undo_until = int(left) if left > 0 else None
    return page("rsvps/manage.html", user, activity=activity, program=program, groups=groups, questions=questions,
                invitations=invited, space=space, seats=seats, confirmed=confirmed, role=role, kit=kit,
                has_sensitive=has_sensitive, undo_left=undo_until, tz=program["timezone"],
                message=request.query_params.get("m"), count=request.query_params.get("n"), error=request.query_params.get("e"))


@get("/activities/{activity_id:int}/confirm/{what:str}", include_in_schema=False)
async def activity_confirm(request: Request, activity_id: int, what: str, user: User = NoCheck) -> Template:
    """Before anything that cannot be taken back (or only briefly): what will happen, and one button."""
    _need(user, request)
    activity = await sched_activities.get_activity(activity_id, user=user)
    program = await program_rules.get_program(activity["program_id"], user=user)
    ctx: dict[str, Any] = {"activity": activity, "program": program, "what": what}
    if what == "cancel":
        ctx["impact"] = await activity_changes.cancel_impact(activity_id, user=user)
        ctx["undo_seconds"] = UNDO_SECONDS
    elif what == "remove":
        rid = request.query_params.get("rsvp_id") or ""
        r = await Rsvp.select().where((Rsvp.id == (int(rid) if rid.isdecimal() else 0)) & (Rsvp.activity == activity_id)).first()
        if not r:
            raise PlannerError("That guest was not found in this activity.", "not_found")
        ctx["guest"] = r
        ctx["waiting"] = await Rsvp.count().where((Rsvp.slot == r["slot"]) & (Rsvp.status == "waitlisted"))
    elif what == "delete":
        ctx["rsvp_count"] = await Rsvp.count().where(Rsvp.activity == activity_id)
    else:
        raise PlannerError("Unknown action.", "not_found")
    return page("scheduling/confirm_activity.html", user, **ctx)


@post("/activities/{activity_id:int}/manage/{action:str}", include_in_schema=False, status_code=200)
async def activity_action(request: Request, activity_id: int, action: str, user: User = NoCheck) -> Redirect:
    _need(user, request)
    # Someone outside the programme is refused here (404), before any action's own "not found" could
    # send them back to the page with a message.
    await sched_activities.get_activity(activity_id, user=user)
    raw = await request.form()
    data = {k: raw.get(k) for k in raw.keys()}
    now = utcnow()
    done = action
    try:
        if action in ("cancel", "remove", "delete") and data.get("confirmed") != "yes":
            # Destructive actions go through their confirmation page first.
            extra = f"?rsvp_id={quote(str(data.get('rsvp_id') or ''))}" if action == "remove" else ""
            return Redirect(f"/activities/{activity_id}/confirm/{action}{extra}", status_code=303)
        if action in ("approve", "decline", "waitlist", "remove"):
            fn = {"approve": rsvp_organizer.approve, "decline": rsvp_organizer.decline, "waitlist": rsvp_organizer.waitlist, "remove": rsvp_organizer.remove}[action]
            kwargs = {"reason": data.get("reason", "")} if action in ("decline", "remove") else {}
            await fn(data.get("rsvp_id"), user=user, now=now, **kwargs)
        elif action == "bulk":
            ids = raw.getall("rsvp_ids", [])
            await rsvp_organizer.bulk(activity_id, data.get("bulk_action", ""), [int(i) for i in ids if str(i).isdecimal()], user=user, now=now)
        elif action == "reorder":
            await rsvp_organizer.reorder(data.get("rsvp_id"), data.get("position"), user=user, reason=data.get("reason", ""), now=now)
        elif action == "move":
            await rsvp_organizer.move(data.get("rsvp_id"), data.get("slot_id"), user=user, now=now)
        elif action == "invite":
            await rsvp_invitations.invite(activity_id, data, user=user, now=now)
        elif action == "question":
            data["sensitive"] = data.get("sensitive") == "on"
            data["per_guest"] = data.get("per_guest") == "on"
            data["required"] = data.get("required") == "on"
            await rsvp_answers.add_question(activity_id, data, user=user)
        elif action == "publish":
            await activity_changes.update_activity(activity_id, {"published": True}, user=user, now=now)
        elif action == "cancel":
            await activity_changes.cancel_activity(activity_id, {"reason": data.get("reason", "")}, user=user, now=now, hold_seconds=UNDO_SECONDS)
        elif action == "undo":
            await activity_changes.undo_cancel(activity_id, user=user, now=now, window_seconds=UNDO_SECONDS)
        elif action == "delete":
            a = await sched_activities.get_activity(activity_id, user=user)
            await activity_changes.delete_activity(activity_id, user=user)
            return Redirect(f"/programs/{a['program_id']}?m=deleted", status_code=303)
        else:
            raise PlannerError("Unknown action.", "not_found")
    except PlannerError as exc:
        if exc.code in ("unauthorized", "forbidden") or (
                exc.code == "not_found" and action not in ("remove", "approve", "decline", "waitlist", "move", "reorder")):
            raise  # answered like every other page: login, 403 or 404, and nothing about the activity
        return Redirect(f"/activities/{activity_id}/manage?e={quote(exc.message)}", status_code=303)
    return Redirect(f"/activities/{activity_id}/manage?m={done}", status_code=303)


# ---------------------------------------------------------------- messages to guests

def _audience(raw) -> list[str]:
    return [x for x in raw.getall("audience", []) if x in messages.AUDIENCES]


@get("/activities/{activity_id:int}/message", include_in_schema=False)
async def activity_message_form(request: Request, activity_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    a = await sched_activities.get_activity(activity_id, user=user)
    program = await program_rules.get_program(a["program_id"], user=user)
    return page("scheduling/message.html", user, program=program, activity=a, form={"audience": ["confirmed"]},
                error=None, preview=None, action=f"/activities/{activity_id}/message")


@get("/programs/{program_id:int}/message", include_in_schema=False)
async def program_message_form(request: Request, program_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    program = await program_rules.get_program(program_id, user=user)
    return page("scheduling/message.html", user, program=program, activity=None, form={"audience": ["confirmed"]},
                error=None, preview=None, action=f"/programs/{program_id}/message")


async def _message(request: Request, user: User, *, program_id: int | None, activity_id: int | None) -> Template | Redirect:
    """First post: shows who will get it ("12 guests will be e-mailed"); the second, confirmed, sends."""
    raw = await request.form()
    form = {"subject": raw.get("subject") or "", "message": raw.get("message") or "", "audience": _audience(raw)}
    a = await sched_activities.get_activity(activity_id, user=user) if activity_id else None
    program = await program_rules.get_program(program_id or a["program_id"], user=user)
    action = f"/activities/{activity_id}/message" if activity_id else f"/programs/{program_id}/message"
    try:
        if raw.get("confirmed") == "yes":
            n = await messages.broadcast(form, program_id=program_id, activity_id=activity_id, user=user, now=utcnow())
            back = f"/activities/{activity_id}/manage" if activity_id else f"/programs/{program_id}"
            return Redirect(f"{back}?m=sent&n={n}", status_code=303)
        people = await messages.recipients(program_id=program_id, activity_id=activity_id, audience=form["audience"], user=user)
        if not form["subject"].strip() or not form["message"].strip():
            raise PlannerError("Write a subject and a message first.", extra={"field": "subject"})
        if not people:
            raise PlannerError("Nobody matches: no guest would get this message.", "conflict")
    except PlannerError as exc:
        return page("scheduling/message.html", user, status_code=exc.status_code, program=program, activity=a, form=form,
                    error=exc.message, preview=None, action=action)
    return page("scheduling/message.html", user, program=program, activity=a, form=form, error=None, preview=people, action=action)


@post("/activities/{activity_id:int}/message", include_in_schema=False, status_code=200)
async def activity_message(request: Request, activity_id: int, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    return await _message(request, user, program_id=None, activity_id=activity_id)


@post("/programs/{program_id:int}/message", include_in_schema=False, status_code=200)
async def program_message(request: Request, program_id: int, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    return await _message(request, user, program_id=program_id, activity_id=None)


# ---------------------------------------------------------------- editing and deleting programmes, spaces, hosts

@get("/programs/{program_id:int}/edit", include_in_schema=False)
async def program_edit(request: Request, program_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    program = await program_rules.get_program(program_id, user=user)
    form = {**program, "languages": ", ".join(program["languages"])}
    return page("scheduling/program_edit.html", user, program=program, form=form, error=None)


@post("/programs/{program_id:int}/edit", include_in_schema=False, status_code=200)
async def program_update(request: Request, program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    form = dict(data)
    body = {**form, "languages": [x.strip() for x in str(form.get("languages") or "en").split(",") if x.strip()]}
    try:
        await program_rules.update_program(program_id, body, user=user)
    except PlannerError as exc:
        program = await program_rules.get_program(program_id, user=user)
        return page("scheduling/program_edit.html", user, status_code=exc.status_code, program=program, form=form, error=exc.message)
    return Redirect(f"/programs/{program_id}?m=saved", status_code=303)


async def _space_ctx(space_id: int, user: User) -> dict:
    usage = await sched_spaces.space_usage(space_id, user=user)
    program = await program_rules.get_program(usage["space"]["program_id"], user=user)
    return {"space": usage["space"], "activities": usage["activities"], "program": program}


@get("/spaces/{space_id:int}/edit", include_in_schema=False)
async def space_edit(request: Request, space_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    ctx = await _space_ctx(space_id, user)
    return page("scheduling/space_edit.html", user, **ctx, form=ctx["space"], error=None)


@post("/spaces/{space_id:int}/edit", include_in_schema=False, status_code=200)
async def space_update(request: Request, space_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    form = dict(data)
    form["counts_presence"] = form.get("counts_presence") == "on"
    try:
        s = await sched_spaces.update_space(space_id, form, user=user)
    except PlannerError as exc:
        ctx = await _space_ctx(space_id, user)
        return page("scheduling/space_edit.html", user, status_code=exc.status_code, **ctx, form=form, error=exc.message)
    return Redirect(f"/programs/{s['program_id']}?m=saved", status_code=303)


@post("/spaces/{space_id:int}/delete", include_in_schema=False, status_code=200)
async def space_delete(request: Request, space_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    ctx = await _space_ctx(space_id, user)
    if data.get("confirmed") != "yes":
        return page("scheduling/space_edit.html", user, **ctx, form=ctx["space"], error=None, confirm_delete=True)
    try:
        await space_changes.delete_space(space_id, user=user)
    except PlannerError as exc:
        return page("scheduling/space_edit.html", user, status_code=exc.status_code, **ctx, form=ctx["space"], error=exc.message)
    return Redirect(f"/programs/{ctx['program']['id']}?m=deleted", status_code=303)


async def _host_ctx(host_id: int, user: User) -> dict:
    usage = await sched_hosts.host_usage(host_id, user=user)
    program = await program_rules.get_program(usage["host"]["program_id"], user=user)
    return {"host": usage["host"], "activities": usage["activities"], "program": program}


@get("/hosts/{host_id:int}/edit", include_in_schema=False)
async def host_edit(request: Request, host_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    ctx = await _host_ctx(host_id, user)
    return page("scheduling/host_edit.html", user, **ctx, form=ctx["host"], error=None)


@post("/hosts/{host_id:int}/edit", include_in_schema=False, status_code=200)
async def host_update(request: Request, host_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    try:
        h = await sched_hosts.update_host(host_id, {"name": data.get("name"), "email": data.get("email") or None}, user=user)
    except PlannerError as exc:
        ctx = await _host_ctx(host_id, user)
        return page("scheduling/host_edit.html", user, status_code=exc.status_code, **ctx, form=dict(data), error=exc.message)
    return Redirect(f"/programs/{h['program_id']}?m=saved", status_code=303)


@post("/hosts/{host_id:int}/delete", include_in_schema=False, status_code=200)
async def host_delete(request: Request, host_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    ctx = await _host_ctx(host_id, user)
    if data.get("confirmed") != "yes":
        return page("scheduling/host_edit.html", user, **ctx, form=ctx["host"], error=None, confirm_delete=True)
    await sched_hosts.delete_host(host_id, user=user)
    return Redirect(f"/programs/{ctx['program']['id']}?m=deleted", status_code=303)


async def _item_ctx(item_id: int, user: User) -> dict:
    usage = await inventory.item_usage(item_id, user=user)
    program = await program_rules.get_program(usage["item"]["program_id"], user=user)
    return {**usage, "program": program}


@get("/items/{item_id:int}/edit", include_in_schema=False)
async def item_edit(request: Request, item_id: int, user: User = NoCheck) -> Template:
    _need(user, request)
    ctx = await _item_ctx(item_id, user)
    return page("scheduling/item_edit.html", user, **ctx, form=ctx["item"], error=None)


@post("/items/{item_id:int}/edit", include_in_schema=False, status_code=200)
async def item_update(request: Request, item_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    try:
        it = await inventory.update_item(item_id, {k: data.get(k) for k in ("name", "sku", "unit", "low_stock_at")}, user=user)
    except PlannerError as exc:
        ctx = await _item_ctx(item_id, user)
        return page("scheduling/item_edit.html", user, status_code=exc.status_code, **ctx, form=dict(data), error=exc.message)
    return Redirect(f"/programs/{it['program_id']}/stock", status_code=303)


@post("/items/{item_id:int}/delete", include_in_schema=False, status_code=200)
async def item_delete(request: Request, item_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Template | Redirect:
    _need(user, request)
    ctx = await _item_ctx(item_id, user)
    if data.get("confirmed") != "yes":
        return page("scheduling/item_edit.html", user, **ctx, form=ctx["item"], error=None, confirm_delete=True)
    try:
        await inventory.delete_item(item_id, user=user)
    except PlannerError as exc:
        return page("scheduling/item_edit.html", user, status_code=exc.status_code, **ctx, form=ctx["item"], error=exc.message)
    return Redirect(f"/programs/{ctx['program']['id']}/stock", status_code=303)


def page_handlers() -> list:
    return [home, program_new, program_create, program_page, space_create, host_create, schedule_page,
            activity_new, activity_create, activity_edit, activity_update, member_add, host_away, activity_manage, activity_action,
            activity_confirm, activity_duplicate_form, activity_duplicate, activity_message_form, activity_message,
            program_message_form, program_message, program_edit, program_update, space_edit, space_update, space_delete,
            host_edit, host_update, host_delete, item_edit, item_update, item_delete, *guest_handlers()]
