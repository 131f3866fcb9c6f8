"""Turn an outbox row into a message: subject, plain text, HTML and, for guests, a calendar invite.

Rendering happens when the message leaves, from the database as it is then (see
`compose`): a message whose news is no longer true is dropped, and later waiting
messages that it already tells are merged into it. Each kind has a renderer in
`RENDERERS`; another area adds a kind with `@renderer("kind")`, or writes its
subject and body into the row when it queues it.

Every message has Date, Message-ID (the same on a retry), From (the programme's
name at the sending address, which is also the invites' ORGANIZER), Reply-To
(the programme's care address), Auto-Submitted and Content-Language. Headers
that are not ASCII are written here as RFC 2047 encoded-words of whole
characters: Python's own folding drops spaces between encoded-words and can
write empty ones.
"""
from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from html import escape
from io import BytesIO
from urllib.parse import urlparse

from planner.calendar import invites
from planner.calendar.ics import resource_line
from planner.calendar.when import format_days, format_moment, format_span, rsvp_days
from planner.fields import loads
from planner.i18n import _, supported, translations
from planner.mail.story import merged_by, still_true
from planner.outbox.rules import message_id
from planner.outbox.tables import OutboxMessage
from planner.programs.tables import Program
from planner.rsvps.tables import Invitation, Rsvp
from planner.scheduling.tables import Activity
from planner.settings import Settings, get_settings

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
    "reminder": _("Reminder: {title} starts in {hours} hours"),
    "reminder_day": _("Reminder: day {day} of {title} starts in {hours} hours"),
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
    "removed": _("The organizers removed your place. {reason}"),
    "reminder": _("A reminder that your place is coming up. Your ticket is on your page; if you cannot come, please cancel there so someone else can have the seat."),
    "broadcast": _("A message from the organizers:\n\n{message}"),
}

# Messages that carry the guest's invite (REQUEST) while they are confirmed; and those that
# take it back (CANCEL), when an invite went out before.
REQUESTS = ("confirmed", "promoted", "activity_changed")
CANCELS = ("cancelled", "activity_cancelled", "declined")
PRODUCT = _("Wellness planner")


@dataclass
class Rendered:
    subject: str
    text: str
    html: str
    ics: bytes | None = None
    method: str = ""
    language: str = "en"
    program: dict | None = None  # name and care_email: the sender's name and Reply-To


@dataclass
class Letter:
    """What the worker does with a row: send `data` (the whole message), or mark it done with `skip`."""

    row_id: int
    to: str
    data: bytes = b""
    smtputf8: bool = False  # the mailbox has non-ASCII letters: sent with SMTPUTF8 (RFC 6531)
    message_id: str = ""
    method: str = ""
    subject: str = ""
    text: str = ""
    skip: str = ""
    merged: list[int] = field(default_factory=list)


Renderer = Callable[[dict, dict], Awaitable[Rendered]]
RENDERERS: dict[str, Renderer] = {}


def renderer(*kinds: str) -> Callable[[Renderer], Renderer]:
    """Register the renderer of some message kinds: `async def f(row, context) -> Rendered`."""
    def register(fn: Renderer) -> Renderer:
        for kind in kinds:
            RENDERERS[kind] = fn
        return fn
    return register


# ---------------------------------------------------------------- composing

async def compose(row: dict, settings: Settings) -> Letter:
    """The message for an outbox row as things stand now, or why it is not sent."""
    letter = Letter(row_id=row["id"], to=row["to_addr"])
    if row["to_addr"].endswith(".invalid"):
        # Walk-ins and erased guests have placeholder addresses: nothing to send.
        letter.skip = "skipped: no address"
        return letter
    if row["rsvp"] is not None and not row["body_text"]:
        state = await Rsvp.select(Rsvp.status, Rsvp.activity.cancelled_at).where(Rsvp.id == row["rsvp"]).first()
        status = state["status"] if state else None
        cancelled = bool(state and state["activity.cancelled_at"] is not None)
        if not still_true(row["kind"], status=status, activity_cancelled=cancelled):
            letter.skip = f"superseded: the RSVP is now {status or 'gone'}"
            return letter
        later = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.kind).where(
            (OutboxMessage.rsvp == row["rsvp"]) & OutboxMessage.sent_at.is_null() & (OutboxMessage.id > row["id"])
        ).order_by(OutboxMessage.id)
        letter.merged = merged_by(row["kind"], later)
    try:
        letter.to, letter.smtputf8 = mailbox(row["to_addr"])
    except UnicodeError:
        letter.skip = "skipped: the address cannot be written for SMTP"
        return letter
    rendered = await render(row)
    message = to_email(settings, {**row, "to_addr": letter.to}, rendered)
    letter.data = flatten(message, utf8=letter.smtputf8)
    letter.message_id = message["Message-ID"]
    letter.method = rendered.method
    letter.subject = rendered.subject
    letter.text = rendered.text
    return letter


async def render(row: dict) -> Rendered:
    """The row's subject, text, HTML and invite, in its reader's language."""
    context = loads(row["context"]) or {}
    if row["body_text"]:
        # Written when queued (staff and organizer mail), in the language the row names.
        language = supported(context.get("language")) or "en"
        html = row["body_html"] or f'<pre lang="{language}">{escape(row["body_text"])}</pre>'
        return Rendered(row["subject"], row["body_text"], html, language=language)
    fn = RENDERERS.get(row["kind"])
    if fn is None:
        raise ValueError(f"no renderer for mail kind {row['kind']!r}")
    return await fn(row, context)


def one_line(text: str) -> str:
    """Titles go into subjects and headings: any line breaks or runs of space become one space."""
    return " ".join(str(text).split())


@renderer("confirmed", "waitlisted", "applied", "promoted", "offered", "cancelled", "declined",
          "offer_expired", "activity_changed", "activity_cancelled", "link_resent", "feedback",
          "reminder", "broadcast")
async def render_guest(row: dict, context: dict) -> Rendered:
    r = await Rsvp.select(
        Rsvp.id, Rsvp.name, Rsvp.status, Rsvp.slot, Rsvp.queue_seq, Rsvp.language, Rsvp.offer_expires_at,
        Rsvp.activity.id, Rsvp.activity.kind, Rsvp.activity.title, Rsvp.activity.cancel_reason,
        Rsvp.activity.space.name, Rsvp.activity.space.address,
        Rsvp.program.id, Rsvp.program.name, Rsvp.program.timezone, Rsvp.program.care_email,
        Rsvp.program.venue_address,
    ).where(Rsvp.id == row["rsvp"]).first()
    if r is None:
        raise ValueError(f"the RSVP of outbox message {row['id']} is gone")
    kind = row["kind"]
    language = r["language"] or "en"
    t = translations(language).gettext
    zone = r["program.timezone"]
    title = one_line(r["activity.title"])
    position = ""
    if r["status"] == "waitlisted" and r["queue_seq"] is not None:
        position = await Rsvp.count().where(
            (Rsvp.slot == r["slot"]) & (Rsvp.status == "waitlisted") & (Rsvp.queue_seq <= r["queue_seq"])
        )
    position = position or context.get("position") or ""
    expires = format_moment(r["offer_expires_at"], zone, language) if r["offer_expires_at"] else ""
    reason = context.get("reason") or r["activity.cancel_reason"] or ""
    page = invites.manage_url(r["id"])
    where = invites.location(r["activity.space.name"], r["activity.space.address"], r["program.venue_address"])
    own_days = await rsvp_days(r)
    subject_key, day_number = kind, ""
    if kind == "reminder" and context.get("slot") and len(own_days) > 1:
        # A residency's reminder is about the day coming up: its number, and that day's time only.
        numbers = {d["slot"]: n for n, d in enumerate(own_days, 1)}
        if context["slot"] in numbers:
            subject_key, day_number = "reminder_day", numbers[context["slot"]]
            own_days = [own_days[day_number - 1]]
    days = format_days(own_days, zone, language)

    if kind == "broadcast":
        # The organizer's own words: used as written, never through format().
        subject = one_line(context.get("subject") or r["activity.title"])
        lead = t(LEADS[kind]).replace("{message}", str(context.get("message") or ""))
    else:
        subject = t(SUBJECTS[subject_key]).format(title=title, hours=context.get("hours") or "", day=day_number)
        # A guest the organizers removed is told so, not that they cancelled themselves.
        lead_key = "removed" if kind == "cancelled" and context.get("by_guest") is False else kind
        lead = " ".join(t(LEADS[lead_key]).format(position=position, expires=expires, reason=reason).split())
    lines = [t(_("Hello {name},")).format(name=r["name"]), "", lead, "", title]
    lines += days
    if where:
        lines.append(where)
    lines += ["", t(_("Your page (keep this link private): {url}")).format(url=page)]
    resources = (await invites.support_resources([r["program.id"]]))[r["program.id"]]
    if resources:
        lines += ["", t(_("If you need support now:"))]
        lines += [resource_line(x, t) for x in resources[:4]]
    lines += ["", r["program.name"]]

    ics, method = None, ""
    if kind in REQUESTS and r["status"] == "confirmed":
        ics, method = await invites.invite_with_method(r["id"])
    elif kind in CANCELS and await _request_was_mailed(r["id"]):
        ics, method = await invites.invite_with_method(r["id"], cancel=True)
    program = {"name": r["program.name"], "care_email": r["program.care_email"]}
    return Rendered(subject, "\n".join(lines), _html(lines, page, language), ics, method, language, program)


async def _request_was_mailed(rsvp_id: int) -> bool:
    """Whether the guest was ever mailed an invite for this RSVP (a CANCEL only takes back what they have)."""
    return await OutboxMessage.exists().where(
        (OutboxMessage.rsvp == rsvp_id) & OutboxMessage.sent_at.is_not_null() & (OutboxMessage.ics_method == "REQUEST")
    )


@renderer("invitation")
async def render_invitation(row: dict, context: dict) -> Rendered:
    inv = await Invitation.select().where(Invitation.id == context["invitation_id"]).first()
    a = await Activity.select().where(Activity.id == inv["activity"]).first()
    p = await Program.select().where(Program.id == a["program"]).first()
    # No RSVP yet, so no language of the guest's own: the programme's first.
    language = (loads(p["languages"]) or ["en"])[0]
    t = translations(language).gettext
    url = f"{get_settings().base_url}/a/{inv['activity']}?invite={inv['code']}"
    title = one_line(a["title"])
    lines = [
        t(_("Hello {name},")).format(name=inv["name"]), "", t(LEADS["invitation"]), "",
        title, format_span(a["starts_at"], a["ends_at"], p["timezone"], language), "",
        t(_("Reply here: {url}")).format(url=url), "", p["name"],
    ]
    return Rendered(t(SUBJECTS["invitation"]).format(title=title), "\n".join(lines), _html(lines, url, language),
                    language=language, program={"name": p["name"], "care_email": p["care_email"]})


def _html(lines: list[str], link: str, language: str) -> str:
    body = "".join(
        f'<p><a href="{escape(link)}">{escape(line)}</a></p>' if link in line else f"<p>{escape(line)}</p>"
        for line in lines if line
    )
    return (f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8"></head>'
            f'<body style="font-family: sans-serif; color: #1d2430; line-height: 1.5">{body}</body></html>')


# ---------------------------------------------------------------- the message itself

def to_email(settings: Settings, row: dict, r: Rendered) -> EmailMessage:
    domain = urlparse(settings.base_url).hostname or "planner.localhost"
    t = translations(r.language).gettext
    name = one_line(r.program["name"]) if r.program else t(PRODUCT)
    reply_to = (r.program or {}).get("care_email") or settings.mail_from
    created = row["created_at"] if isinstance(row["created_at"], datetime) else datetime.fromisoformat(str(row["created_at"]))
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Date"] = format_datetime(created)
    msg["Message-ID"] = message_id(row, secret=settings.secret_key, domain=domain)
    msg["From"] = Address(display_name=name, addr_spec=settings.mail_from)
    msg["Reply-To"] = Address(addr_spec=reply_to)
    msg["To"] = row["to_addr"]
    msg["Subject"] = one_line(r.subject)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(r.text)
    msg.add_alternative(r.html, subtype="html")
    if r.ics:
        # As an alternative part (mail clients offer "add to calendar") and as a file.
        msg.add_alternative(r.ics, maintype="text", subtype="calendar", params={"method": r.method, "charset": "utf-8"})
        msg.add_attachment(r.ics, maintype="application", subtype="ics", filename="invite.ics")
    msg["Content-Language"] = r.language  # after the body: setting content clears Content-* headers
    return msg


def flatten(msg: EmailMessage, *, utf8: bool = False) -> bytes:
    """The message's bytes; `utf8` writes addresses in UTF-8 itself (RFC 6532), for an SMTPUTF8 transaction."""
    out = BytesIO()
    BytesGenerator(out, policy=MAIL_POLICY.clone(linesep="\r\n", utf8=utf8)).flatten(msg)
    return out.getvalue()


def mailbox(addr: str) -> tuple[str, bool]:
    """The address as the envelope and the To header carry it, and whether that needs SMTPUTF8.

    A domain with non-ASCII letters is written in its IDNA form (xn--...), which every server
    takes; a local part with non-ASCII letters can only travel with SMTPUTF8. Encoded-words
    are never allowed inside an address, which is what Python's header folding would write.
    Raises UnicodeError for a domain IDNA cannot write.
    """
    local, at, domain = addr.rpartition("@")
    if not at:
        return addr, not addr.isascii()
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}", not local.isascii()


def encoded_words(text: str) -> list[str]:
    """RFC 2047 "B" encoded-words of whole characters (at most 39 octets each), none empty.

    Everything, spaces included, is inside the words, and a reader joins adjacent
    words without the folding between them: the text comes back exactly.
    """
    words, chunk = [], ""
    for char in text:
        if chunk and len((chunk + char).encode()) > 39:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    return ["=?utf-8?b?" + base64.b64encode(word.encode()).decode() + "?=" for word in words]


class _MailPolicy(EmailPolicy):
    """The default policy, except that non-ASCII Subject and display names are encoded as `encoded_words`."""

    def _ours(self, name: str, value) -> str | None:
        key = name.lower()
        if key == "subject" and not str(value).isascii():
            words = encoded_words(str(value))
        elif key in ("from", "reply-to") and not str(value).isascii() and len(getattr(value, "addresses", ())) == 1:
            address = value.addresses[0]
            words = [*encoded_words(address.display_name), f"<{address.addr_spec}>"]
        else:
            return None
        return f"{name}: " + (self.linesep + " ").join(words) + self.linesep

    def fold(self, name, value):
        return self._ours(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        ours = self._ours(name, value)
        return ours.encode("ascii") if ours else super().fold_binary(name, value)


MAIL_POLICY = _MailPolicy()
