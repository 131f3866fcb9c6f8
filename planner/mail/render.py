"""Turn an outbox row into a message: subject, plain text, HTML and, for guests, a calendar invite."""
from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from html import escape

from planner.i18n import _, translations
from planner.settings import Settings


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    ics: bytes | None = None
    method: str = ""


SUBJECTS = {
    "confirmed": _("You're confirmed: {title}"),
    "waitlisted": _("You're on the waitlist for {title}"),
    "applied": _("We received your application for {title}"),
    "promoted": _("A place opened up: you're confirmed for {title}"),
    "offered": _("A place is held for you at {title}"),
    "cancelled": _("Cancelled: {title}"),
    "declined": _("About your place at {title}"),
    "offer_expired": _("The held place at {title} has passed on"),
    "invitation": _("You're invited: {title}"),
    "activity_changed": _("Updated: {title}"),
    "activity_cancelled": _("Cancelled: {title}"),
    "link_resent": _("Your personal link for {title}"),
    "feedback": _("How do you feel now? {title}"),
}

LEADS = {
    "confirmed": _("Your place is confirmed. Your ticket and calendar invite are on your page."),
    "waitlisted": _("The activity is full, so you are on the waitlist at position {position}. We will email you if a place opens up."),
    "applied": _("Thank you for applying. The organizers will review applications and let you know."),
    "promoted": _("Good news: a place opened up and you are now confirmed. Your ticket is on your page."),
    "offered": _("A place opened up and is held for you until {expires}. Accept it from your page before then, or it passes to the next person."),
    "cancelled": _("Your place is cancelled. If this was a mistake, you can RSVP again while places last."),
    "declined": _("Unfortunately we could not offer you a place this time."),
    "offer_expired": _("The place held for you was not accepted in time and has passed to the next person."),
    "invitation": _("You are invited. Use your personal link to reply; it is yours alone."),
    "activity_changed": _("The details of your activity changed. The updated calendar invite is attached."),
    "activity_cancelled": _("The organizers cancelled this activity. {reason}"),
    "link_resent": _("Someone asked for a place here with your e-mail address, which already has one. Here is your personal link again. If it was not you, you need do nothing: nobody else received it."),
    "feedback": _("Thank you for coming. How do you feel now, and would you come again? One tap on your page tells us. It is optional and anonymous: nobody can see which answer is yours."),
}


def to_email(settings: Settings, to: str, r: Rendered) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = r.subject
    msg.set_content(r.text)
    msg.add_alternative(r.html, subtype="html")
    if r.ics:
        # As an alternative part (mail clients offer "add to calendar") and as a file.
        msg.add_alternative(r.ics, maintype="text", subtype="calendar", params={"method": r.method, "charset": "utf-8"})
        msg.add_attachment(r.ics, maintype="application", subtype="ics", filename="invite.ics")
    return msg


async def render(row: dict) -> Rendered:
    if row["body_text"]:
        return Rendered(row["subject"], row["body_text"], row["body_html"] or f"<pre>{escape(row['body_text'])}</pre>")
    kind = row["kind"]
    from planner.fields import loads

    ctx = loads(row["context"]) or {}
    if kind == "invitation":
        return await _render_invitation(ctx)
    from planner.rsvps.rules import program_of_rsvp, rsvp_out, urls, waitlist_position
    from planner.rsvps.tables import Rsvp
    from planner.scheduling.tables import Activity

    r = await Rsvp.select().where(Rsvp.id == row["rsvp"]).first()
    a = await Activity.select().where(Activity.id == r["activity"]).first()
    p = await program_of_rsvp(r["id"])
    t = translations(r["language"] or "en").gettext
    u = urls(r["id"])
    position = ctx.get("position") or await waitlist_position(r) or ""
    expires = r["offer_expires_at"].astimezone(__import__("zoneinfo").ZoneInfo(p["timezone"])).strftime("%a %d %b %H:%M") if r["offer_expires_at"] else ""
    reason = ctx.get("reason") or ""
    subject = t(SUBJECTS[kind]).format(title=a["title"])
    lead = t(LEADS[kind]).format(position=position, expires=expires, reason=reason)
    lines = [t(_("Hello {name},")).format(name=r["name"]), "", lead, "", f"{a['title']}", _when(a, p)]
    lines += ["", t(_("Your page (keep this link private): {url}")).format(url=u["manage_url"])]
    from planner.resources.tables import SupportResource

    res = await SupportResource.select().where((SupportResource.program == p["id"]) & (SupportResource.enabled == True)).order_by(SupportResource.position)  # noqa: E712
    if res:
        lines += ["", t(_("If you need support now:"))]
        lines += [f"- {x['name']}: {x['phone'] or x['sms'] or x['url'] or ''}" for x in res[:4]]
    lines += ["", p["name"]]
    text = "\n".join(lines)
    html = _html(lines, u["manage_url"])
    ics, method = None, ""
    try:
        from planner.calendar import invites
    except ImportError:
        invites = None
    if invites is not None:
        if kind in ("confirmed", "promoted", "activity_changed") and r["status"] == "confirmed":
            ics, method = await invites.invite_with_method(r["id"])
        elif kind in ("cancelled", "activity_cancelled") and ctx.get("was", "confirmed") in ("confirmed", "offered"):
            ics, method = await invites.invite_with_method(r["id"], cancel=True)
    return Rendered(subject, text, html, ics, method)


def _when(a: dict, p: dict) -> str:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(p["timezone"])
    s, e = a["starts_at"].astimezone(tz), a["ends_at"].astimezone(tz)
    if s.date() == e.date():
        return f"{s:%A %d %B %Y, %H:%M}–{e:%H:%M} ({p['timezone']})"
    return f"{s:%a %d %b %H:%M} – {e:%a %d %b %Y %H:%M} ({p['timezone']})"


def _html(lines: list[str], link: str) -> str:
    body = "".join(
        f'<p><a href="{escape(link)}">{escape(line)}</a></p>' if link in line else f"<p>{escape(line)}</p>"
        for line in lines if line
    )
    return f'<!doctype html><html><body style="font-family: sans-serif; color: #1d2430; line-height: 1.5">{body}</body></html>'


async def _render_invitation(ctx: dict) -> Rendered:
    from planner.rsvps.rules import _invitation_out
    from planner.rsvps.tables import Invitation
    from planner.scheduling.tables import Activity, Program

    inv = await Invitation.select().where(Invitation.id == ctx["invitation_id"]).first()
    a = await Activity.select().where(Activity.id == inv["activity"]).first()
    p = await Program.select().where(Program.id == a["program"]).first()
    t = translations("en").gettext
    url = _invitation_out(inv, created=False)["url"]
    lines = [
        t(_("Hello {name},")).format(name=inv["name"]), "", t(LEADS["invitation"]), "",
        a["title"], _when(a, p), "", t(_("Reply here: {url}")).format(url=url), "", p["name"],
    ]
    return Rendered(t(SUBJECTS["invitation"]).format(title=a["title"]), "\n".join(lines), _html(lines, url))
