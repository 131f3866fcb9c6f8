"""An activity's guests for its organizers: the RSVP list, each action on it (one route each), the
confirmation before a destructive one, and messages to guests."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.response import Redirect, Template

from planner.changes import activities as activity_changes
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.inventory import items as inventory_items
from planner.programs import rules as program_rules
from planner.programs.pages import role_of
from planner.rsvps import answers as rsvp_answers
from planner.rsvps import invitations as rsvp_invitations
from planner.rsvps import messages
from planner.rsvps import organizer as rsvp_organizer
from planner.rsvps.tables import Rsvp
from planner.scheduling import activities as sched_activities
from planner.scheduling.tables import Space
from planner.tickets.tables import Checkin
from planner.web_common import NoCheck, User, need_login, page

# How long a cancellation's e-mails wait in the outbox, so the organizer can undo it.
UNDO_SECONDS = 60


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
    need_login(user)
    activity = await sched_activities.get_activity(activity_id, user=user)
    program = await program_rules.get_program(activity["program_id"], user=user)
    role = await role_of(user, program["id"])
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
    kit = next((k for k in await inventory_items.list_kits(program["id"], user=user) if k["id"] == activity["kit_id"]), None)
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
    need_login(user)
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


async def _manage(request: Request, activity_id: int, user: User, action: str, run: Callable[[dict, Any], Awaitable[Any]], *,
                  confirm: bool = False, soft_not_found: bool = False) -> Redirect:
    """One form action on an activity's RSVP page: back to the page with a message, or with the refusal.
    With `confirm`, the action goes through its confirmation page first."""
    need_login(user)
    # Someone outside the programme is refused here (404), before any action's own "not found" could
    # send them back to the page with a message.
    activity = await sched_activities.get_activity(activity_id, user=user)
    await program_rules.require_role(user, activity["program_id"], "organizer")
    raw = await request.form()
    data: dict[str, Any] = {k: raw.get(k) for k in raw.keys()}
    data["_all"] = raw
    if confirm and data.get("confirmed") != "yes":
        extra = f"?rsvp_id={quote(str(data.get('rsvp_id') or ''))}" if action == "remove" else ""
        return Redirect(f"/activities/{activity_id}/confirm/{action}{extra}", status_code=303)
    try:
        outcome = await run(data, utcnow())
    except PlannerError as exc:
        if exc.code in ("unauthorized", "forbidden") or (exc.code == "not_found" and not soft_not_found):
            raise  # answered like every other page: login, 403 or 404, and nothing about the activity
        return Redirect(f"/activities/{activity_id}/manage?e={quote(exc.message)}", status_code=303)
    if isinstance(outcome, Redirect):
        return outcome
    return Redirect(f"/activities/{activity_id}/manage?m={action}", status_code=303)


def _action(path: str):
    return post(f"/activities/{{activity_id:int}}/manage/{path}", include_in_schema=False, status_code=200)


@_action("approve")
async def rsvp_approve(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "approve", soft_not_found=True,
                         run=lambda d, now: rsvp_organizer.approve(d.get("rsvp_id"), user=user, now=now))


@_action("decline")
async def rsvp_decline(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "decline", soft_not_found=True,
                         run=lambda d, now: rsvp_organizer.decline(d.get("rsvp_id"), user=user, now=now, reason=d.get("reason", "")))


@_action("waitlist")
async def rsvp_waitlist(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "waitlist", soft_not_found=True,
                         run=lambda d, now: rsvp_organizer.waitlist(d.get("rsvp_id"), user=user, now=now))


@_action("remove")
async def rsvp_remove(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "remove", confirm=True, soft_not_found=True,
                         run=lambda d, now: rsvp_organizer.remove(d.get("rsvp_id"), user=user, now=now, reason=d.get("reason", "")))


@_action("bulk")
async def rsvp_bulk(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    def run(d: dict, now: Any) -> Awaitable[Any]:
        ids = [int(i) for i in d["_all"].getall("rsvp_ids", []) if str(i).isdecimal()]
        return rsvp_organizer.bulk(activity_id, d.get("bulk_action", ""), ids, user=user, now=now)
    return await _manage(request, activity_id, user, "bulk", run=run)


@_action("reorder")
async def rsvp_reorder(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "reorder", soft_not_found=True,
                         run=lambda d, now: rsvp_organizer.reorder(d.get("rsvp_id"), d.get("position"), user=user, reason=d.get("reason", ""), now=now))


@_action("move")
async def rsvp_move(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "move", soft_not_found=True,
                         run=lambda d, now: rsvp_organizer.move(d.get("rsvp_id"), d.get("slot_id"), user=user, now=now))


@_action("invite")
async def invitation_add(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "invite", run=lambda d, now: rsvp_invitations.invite(activity_id, d, user=user, now=now))


@_action("question")
async def question_add(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    def run(d: dict, now: Any) -> Awaitable[Any]:
        body = {k: v for k, v in d.items() if k != "_all"}
        for box in ("sensitive", "per_guest", "required"):
            body[box] = d.get(box) == "on"
        return rsvp_answers.add_question(activity_id, body, user=user)
    return await _manage(request, activity_id, user, "question", run=run)


@_action("publish")
async def activity_publish(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "publish",
                         run=lambda d, now: activity_changes.update_activity(activity_id, {"published": True}, user=user, now=now))


@_action("cancel")
async def activity_cancel(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "cancel", confirm=True,
                         run=lambda d, now: activity_changes.cancel_activity(activity_id, {"reason": d.get("reason", "")}, user=user, now=now,
                                                                            hold_seconds=UNDO_SECONDS))


@_action("undo")
async def activity_undo_cancel(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    return await _manage(request, activity_id, user, "undo",
                         run=lambda d, now: activity_changes.undo_cancel(activity_id, user=user, now=now, window_seconds=UNDO_SECONDS))


@_action("delete")
async def activity_delete(request: Request, activity_id: int, user: User = NoCheck) -> Redirect:
    async def run(d: dict, now: Any) -> Redirect:
        a = await sched_activities.get_activity(activity_id, user=user)
        await activity_changes.delete_activity(activity_id, user=user)
        return Redirect(f"/programs/{a['program_id']}?m=deleted", status_code=303)
    return await _manage(request, activity_id, user, "delete", confirm=True, run=run)


ACTIONS = [rsvp_approve, rsvp_decline, rsvp_waitlist, rsvp_remove, rsvp_bulk, rsvp_reorder, rsvp_move, invitation_add, question_add,
           activity_publish, activity_cancel, activity_undo_cancel, activity_delete]


# ---------------------------------------------------------------- messages to guests

def _audience(raw) -> list[str]:
    return [x for x in raw.getall("audience", []) if x in messages.AUDIENCES]


@get("/activities/{activity_id:int}/message", include_in_schema=False)
async def activity_message_form(request: Request, activity_id: int, user: User = NoCheck) -> Template:
    need_login(user)
    a = await sched_activities.get_activity(activity_id, user=user)
    program = await program_rules.get_program(a["program_id"], user=user)
    return page("scheduling/message.html", user, program=program, activity=a, form={"audience": ["confirmed"]},
                error=None, preview=None, action=f"/activities/{activity_id}/message")


@get("/programs/{program_id:int}/message", include_in_schema=False)
async def program_message_form(request: Request, program_id: int, user: User = NoCheck) -> Template:
    need_login(user)
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
    need_login(user)
    return await _message(request, user, program_id=None, activity_id=activity_id)


@post("/programs/{program_id:int}/message", include_in_schema=False, status_code=200)
async def program_message(request: Request, program_id: int, user: User = NoCheck) -> Template | Redirect:
    need_login(user)
    return await _message(request, user, program_id=program_id, activity_id=None)


HANDLERS = [activity_manage, activity_confirm, *ACTIONS, activity_message_form, program_message_form, activity_message, program_message]
