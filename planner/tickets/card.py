"""The words of a guest's ticket card, in the language they RSVPed in: the guest's own card and the
organizers' printed PDF both speak it, whoever asks for them.

`card_texts` is pure (rows in, `CardText` out); `card_for` reads the rows of one RSVP. The card image
(`qr.ticket_card_png`) is drawn from the `CardText` alone, so these texts are all it can say.
"""
from __future__ import annotations

from planner import i18n
from planner.i18n import _l, _nl
from planner.programs.tables import Program
from planner.resources.tables import SupportResource
from planner.scheduling.tables import Activity, Slot, Space
from planner.tickets.qr import CardText

# The support block keeps to a few lines, so the QR stays big.
CARD_RESOURCES = 3


def resource_line(resource: dict, lang: str) -> str:
    """"Notruf: 112 (24/7)": the resource's name and hours in the language (our seed's English ones are translated)."""
    sms = resource.get("sms") or ""
    if sms[:1].isdigit():
        sms = _l("text {sms}", sms=sms).render(lang)  # a bare number: say it is for texting
    contact = resource.get("phone") or sms or resource.get("url") or ""
    line = f"{i18n.stored(resource['name'], lang)}: {contact}".rstrip(": ")
    hours = i18n.stored(resource.get("hours"), lang)
    return f"{line} ({hours})" if hours else line


def card_texts(*, rsvp: dict, activity: dict, program: dict, slot: dict, space_name: str, resources: list[dict],
               lang: str | None = None) -> CardText:
    """The card's texts: in the RSVP's own language, else `lang`, else the current one."""
    lang = i18n.supported(rsvp.get("language")) or i18n.supported(lang) or i18n.current_language.get()
    party = 1 + (rsvp.get("guests") or 0)
    return CardText(
        code=rsvp["ticket_code"],
        heading=program["name"],
        activity_title=activity["title"],
        when_text=i18n.format_when(slot["starts_at"], slot["ends_at"], program["timezone"], lang),
        space_name=space_name,
        guest_name=rsvp["name"],
        party_size=party,
        admit_text=_nl("Admit {n}", "Admit {n}", party).render(lang) if party > 1 else None,
        crisis_heading=_l("If you need support now:").render(lang) if resources else "",
        crisis_lines=[resource_line(r, lang) for r in resources],
    )


async def card_for(rsvp: dict) -> CardText:
    """The card texts of a confirmed RSVP row (from `Rsvp.select()`)."""
    a = await Activity.select().where(Activity.id == rsvp["activity"]).first()
    p = await Program.select().where(Program.id == rsvp["program"]).first()
    s = await Slot.select().where(Slot.id == rsvp["slot"]).first()
    sp = await Space.select(Space.name).where(Space.id == a["space"]).first()
    res = await SupportResource.select().where(
        (SupportResource.program == p["id"]) & (SupportResource.enabled == True)  # noqa: E712
    ).order_by(SupportResource.position).limit(CARD_RESOURCES)
    return card_texts(rsvp=rsvp, activity=a, program=p, slot=s, space_name=sp["name"] if sp else "", resources=res)
