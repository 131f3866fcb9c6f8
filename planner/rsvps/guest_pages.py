"""Server-rendered pages for guests (no account): the public programme, an activity, and the guest's own page."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from planner import i18n
from planner.calendar.feeds import guest_feed_url, program_feed_url
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.i18n import current_language
from planner.privacy import erase_guest
from planner.programs import rules as programs
from planner.programs.tables import Program
from planner.reports import feedback
from planner.resources.tables import SupportResource
from planner.rsvps import answers as rsvp_answers
from planner.rsvps import booking as rsvp_booking
from planner.rsvps import replies
from planner.rsvps import shapes as rsvp_shapes
from planner.rsvps.tables import Invitation, Rsvp
from planner.scheduling import activities as sched_activities
from planner.scheduling.tables import Activity, Host, Space
from planner.web_common import page as common_page

KINDS = ("activation", "residency", "dinner")


def page(name: str, status_code: int = 200, **context: Any) -> Template:
    return common_page(name, None, status_code, **context)


async def resources_of(program_id: int) -> list[dict]:
    return await SupportResource.select().where(
        (SupportResource.program == program_id) & (SupportResource.enabled == True)  # noqa: E712
    ).order_by(SupportResource.position)


def seats(a: dict, now: datetime) -> dict:
    """Seats left over the bookable slots, whether it is full, and the first slot with a free seat."""
    upcoming = [s for s in a["slots"] if datetime.fromisoformat(s["ends_at"]) > now] or a["slots"]
    if a["kind"] == "activation":
        left = sum(max(0, s["capacity"] - s["confirmed"]) for s in upcoming)
        total = sum(s["capacity"] for s in upcoming)
    else:
        first = a["slots"][0] if a["slots"] else {"capacity": a["capacity"], "confirmed": 0}
        left, total = max(0, first["capacity"] - first["confirmed"]), first["capacity"]
    first_free = next((s["id"] for s in upcoming if s["capacity"] > s["confirmed"] and datetime.fromisoformat(s["starts_at"]) > now), None)
    return {"left": left, "total": total, "full": left == 0, "first_free": first_free,
            "waiting": sum(s["waiting"] for s in a["slots"])}


async def host_names(host_ids: list[int]) -> list[str]:
    if not host_ids:
        return []
    return [h["name"] for h in await Host.select(Host.name).where(Host.id.is_in(host_ids)).order_by(Host.name)]


async def _public_activity(activity_id: int, *, any_state: bool = False) -> tuple[dict, dict, dict]:
    a = await Activity.select().where(Activity.id == activity_id).first()
    if not a or (not a["published"] and not any_state):
        raise PlannerError("That activity was not found.", "not_found")
    p = await Program.select().where(Program.id == a["program"]).first()
    out = await sched_activities.activity_out(a, p["timezone"])
    out["hosts"] = await host_names(out["host_ids"])
    space = await Space.select().where(Space.id == a["space"]).first()
    return out, p, space


def _closed(a: dict, now: datetime) -> str | None:
    if a["cancelled"]:
        return "cancelled"
    if a["rsvp_deadline"] and datetime.fromisoformat(a["rsvp_deadline"]) < now:
        return "deadline"
    if datetime.fromisoformat(a["ends_at"]) < now:
        return "over"
    return None


async def _activity_context(activity_id: int, invite: str | None) -> dict:
    now = utcnow()
    a, p, space = await _public_activity(activity_id)
    i18n.settle_for_program(p["languages"])
    questions = await rsvp_answers.questions_for(activity_id)
    invitation = await replies.invitation_by_code(activity_id, invite) if invite else None
    return {"activity": a, "program": p, "space": space, "questions": questions,
            "per_guest": [q for q in questions if q["per_guest"]],
            "invite": invite if invitation else None, "invitation": invitation, "bad_invite": bool(invite and not invitation),
            "seats": seats(a, now), "resources": await resources_of(p["id"]), "closed": _closed(a, now)}


@get("/a/{activity_id:int}", include_in_schema=False)
async def activity_public(request: Request, activity_id: int, invite: str | None = None) -> Template | Redirect:
    ctx = await _activity_context(activity_id, invite)
    inv = ctx["invitation"]
    if inv and inv["used"]:
        answered = await replies.rsvp_of_invitation(inv["id"])
        changing = request.query_params.get("change") == "1" and answered and replies.can_rebook(answered)
        if answered and not changing:
            # A reopened invitation shows the answer already given, and lets the guest change it there.
            token = rsvp_shapes.urls(answered["id"])["token"]
            return Redirect(f"/r/{answered['id']}?token={token}&lang={current_language.get()}", status_code=303)
    form = {"slot_id": ctx["seats"]["first_free"]}
    return page("rsvps/activity.html", **ctx, error=None, form=form)


def _answers(form: dict, questions: list[dict]) -> dict:
    """Form fields to the answers the rules take: q<ID> for the guest, pq<ID>_<n> for plus-one n."""
    def value(q: dict, key: str) -> Any:
        v = form.get(key)
        if q["kind"] == "yesno":
            return (v == "yes") if v in ("yes", "no") else None
        return v if v not in (None, "") else None

    answers: dict[str, Any] = {}
    for q in questions:
        v = value(q, f"q{q['id']}")
        if v is not None:
            answers[str(q["id"])] = v
    try:
        guests = max(0, int(form.get("guests") or 0))
    except ValueError:
        guests = 0
    per_guest = [q for q in questions if q["per_guest"]]
    if per_guest and guests:
        plus = []
        for n in range(1, min(guests, 20) + 1):
            one = {}
            for q in per_guest:
                v = value(q, f"pq{q['id']}_{n}")
                if v is not None:
                    one[str(q["id"])] = v
            plus.append(one)
        answers["plus_ones"] = plus
    return answers


def _error_field(exc: PlannerError) -> str | None:
    """The id of the form field a refusal is about, so the page shows the sentence next to it:
    q<ID> for the guest's answer, pq<ID>_<n> for plus-one n's, or the plain field."""
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    qid = extra.get("question_id")
    if qid is not None:
        n = extra.get("plus_one")
        return f"pq{qid}_{n}" if n else f"q{qid}"
    field = extra.get("field")
    return field if field in ("name", "email", "guests", "slot_id") else None


@post("/a/{activity_id:int}", include_in_schema=False, status_code=200)
async def activity_rsvp(request: Request, activity_id: int) -> Template | Redirect:
    raw = await request.form()
    form = {k: raw.get(k) for k in raw.keys()}
    questions = await rsvp_answers.questions_for(activity_id)
    body = {"name": form.get("name"), "email": form.get("email"), "guests": form.get("guests") or 0,
            "slot_id": form.get("slot_id") or None, "answers": _answers(form, questions),
            "invite_code": form.get("invite") or None}
    try:
        _a, p, _space = await _public_activity(activity_id)
        i18n.settle_for_program(p["languages"])
        out, created = await rsvp_booking.create_rsvp(activity_id, body, now=utcnow(), language=current_language.get())
    except PlannerError as exc:
        ctx = await _activity_context(activity_id, form.get("invite"))
        return page("rsvps/activity.html", status_code=exc.status_code, **ctx, error=exc.message, form=form,
                    error_field=_error_field(exc))
    if not created:
        # The address already has a place: its link goes to that address again, never to this browser.
        a, p, _space = await _public_activity(activity_id)
        return page("rsvps/check_email.html", activity=a, program=p)
    return Redirect("/r/" + out["manage_url"].split("/r/", 1)[1] + f"&new=1&lang={current_language.get()}", status_code=303)


@post("/a/{activity_id:int}/decline", include_in_schema=False, status_code=200)
async def invitation_decline(request: Request, activity_id: int) -> Template | Redirect:
    raw = await request.form()
    try:
        _a, p, _space = await _public_activity(activity_id)
        i18n.settle_for_program(p["languages"])
        out = await replies.decline_invitation(activity_id, raw.get("invite"), now=utcnow(), language=current_language.get())
    except PlannerError as exc:
        if exc.code == "not_found":
            raise
        ctx = await _activity_context(activity_id, raw.get("invite"))
        return page("rsvps/activity.html", status_code=exc.status_code, **ctx, error=exc.message, form={})
    return Redirect("/r/" + out["manage_url"].split("/r/", 1)[1] + f"&m=declined&lang={current_language.get()}", status_code=303)


async def _guest_context(rsvp_id: int, token: str | None) -> dict:
    r = await rsvp_booking.get_guest_rsvp(rsvp_id, token)
    view = await replies.guest_view(rsvp_id, token)
    a, p, space = await _public_activity(r["activity_id"], any_state=True)
    slot = next((s for s in a["slots"] if s["id"] == r["slot_id"]), None)
    invite_code = None
    if view["by_invitation"] and r["status"] == "declined" and view["can_rebook"]:
        row = await Rsvp.select(Rsvp.invitation).where(Rsvp.id == r["id"]).first()
        inv = await Invitation.select(Invitation.code).where(Invitation.id == row["invitation"]).first()
        invite_code = inv["code"] if inv else None
    return {"rsvp": r, "activity": a, "program": p, "space": space, "slot": slot, "token": token, **view,
            "invite_code": invite_code, "resources": await resources_of(p["id"]), "closed": _closed(a, utcnow()),
            "feedback": await feedback.offer({"id": r["id"], "program": p["id"]}),
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


@get("/r/{rsvp_id:int}", include_in_schema=False)
async def guest_page(request: Request, rsvp_id: int, token: str | None = None) -> Template:
    ctx = await _guest_context(rsvp_id, token)
    await _guest_language(ctx)
    return page("rsvps/guest.html", **ctx, error=None, new=request.query_params.get("new") == "1",
                message=request.query_params.get("m"))


@get("/r/{rsvp_id:int}/cancel", include_in_schema=False)
async def guest_cancel_confirm(request: Request, rsvp_id: int, token: str | None = None) -> Template:
    ctx = await _guest_context(rsvp_id, token)
    await _guest_language(ctx)
    return page("rsvps/guest_cancel.html", **ctx)


@post("/r/{rsvp_id:int}/cancel", include_in_schema=False, status_code=200)
async def guest_cancel(request: Request, rsvp_id: int, token: str | None = None) -> Template | Redirect:
    return await _guest_do(request, rsvp_id, "cancel", token, lambda form, tok, now: rsvp_booking.cancel_guest(rsvp_id, tok, now=now))


async def _guest_do(request: Request, rsvp_id: int, action: str, token: str | None,
                    run: Callable[[Any, str | None, Any], Awaitable[Any]]) -> Template | Redirect:
    """One form action on the guest's own page: back to it with a message, or with the refusal."""
    raw = await request.form()
    token = token or raw.get("token")
    try:
        outcome = await run(raw, token, utcnow())
    except PlannerError as exc:
        if exc.code == "not_found":
            raise
        ctx = await _guest_context(rsvp_id, token)
        await _guest_language(ctx)
        return page("rsvps/guest.html", status_code=exc.status_code, **ctx, error=exc.message, new=False, message=None)
    if isinstance(outcome, Template):
        return outcome
    return Redirect(f"/r/{rsvp_id}?token={token}&m={action}", status_code=303)


@post("/r/{rsvp_id:int}/guests", include_in_schema=False, status_code=200)
async def guest_change_party(request: Request, rsvp_id: int, token: str | None = None) -> Template | Redirect:
    return await _guest_do(request, rsvp_id, "guests", token,
                           lambda form, tok, now: rsvp_booking.change_guests(rsvp_id, tok, form.get("guests"), now=now))


@post("/r/{rsvp_id:int}/accept", include_in_schema=False, status_code=200)
async def guest_accept_offer(request: Request, rsvp_id: int, token: str | None = None) -> Template | Redirect:
    return await _guest_do(request, rsvp_id, "accept", token, lambda form, tok, now: rsvp_booking.accept_offer(rsvp_id, tok, now=now))


@post("/r/{rsvp_id:int}/rebook", include_in_schema=False, status_code=200)
async def guest_rebook(request: Request, rsvp_id: int, token: str | None = None) -> Template | Redirect:
    return await _guest_do(request, rsvp_id, "rebook", token, lambda form, tok, now: replies.rebook(rsvp_id, tok, now=now))


@post("/r/{rsvp_id:int}/erase", include_in_schema=False, status_code=200)
async def guest_erase(request: Request, rsvp_id: int, token: str | None = None) -> Template | Redirect:
    async def run(form: Any, tok: str | None, now: Any) -> Template:
        await erase_guest(rsvp_id, tok, now=now)
        return page("rsvps/erased.html")
    return await _guest_do(request, rsvp_id, "erase", token, run)


@get("/p/{program_id:int}", include_in_schema=False)
async def program_public(request: Request, program_id: int, kind: str | None = None) -> Template:
    now = utcnow()
    p = await programs.program_row(program_id)
    i18n.settle_for_program(p["languages"])
    acts = await sched_activities.list_activities(program_id, user=None, published_only=True)
    spaces = {s["id"]: s["name"] for s in await Space.select(Space.id, Space.name).where(Space.program == program_id)}
    hosts = {h["id"]: h["name"] for h in await Host.select(Host.id, Host.name).where(Host.program == program_id)}
    kinds = sorted({a["kind"] for a in acts}, key=KINDS.index)
    if kind in KINDS:
        acts = [a for a in acts if a["kind"] == kind]
    days: dict[date, list[dict]] = {}
    for a in acts:
        a["space_name"] = spaces.get(a["space_id"], "")
        a["hosts"] = [hosts[h] for h in a["host_ids"] if h in hosts]
        a["seats"] = seats(a, now)
        a["over"] = datetime.fromisoformat(a["ends_at"]) < now
        days.setdefault(date.fromisoformat(a["starts_at"][:10]), []).append(a)
    return page("rsvps/program_public.html", program=p, days=sorted(days.items()), kinds=kinds,
                kind=kind if kind in KINDS else None, resources=await resources_of(program_id),
                feed_url=program_feed_url(program_id, as_webcal=True))


HANDLERS = [activity_public, activity_rsvp, invitation_decline, guest_page, guest_cancel_confirm, guest_cancel, guest_change_party, guest_accept_offer, guest_rebook, guest_erase,
            program_public]
