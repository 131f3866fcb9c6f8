"""Every kind of guest mail of a programme that speaks Spanish: parsed strictly, and Spanish throughout.

The guests never choose a language, so each RSVP takes the programme's. Every subject, lead,
date, zone, support resource and calendar description must then be Spanish: not one of the
English source sentences, day or month names, AM/PM, or English resource names may show.
"""
from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from planner.calendar.ics import TEXT
from planner.i18n import translations
from planner.mail.render import LEADS, SUBJECTS
from planner.mail.worker import run_once
from planner.resources.tables import SupportResource
from planner.rsvps.messages import send_due_reminders
from planner.rsvps.waitlist import expire_offers
from planner.settings import get_settings
from tests.mail.smtp import start

STRICT = email.policy.default.clone(raise_on_defect=True)
MADRID = ZoneInfo("Europe/Madrid")
START = datetime(2027, 7, 2, 10, 0, tzinfo=MADRID).astimezone(UTC)
ENGLISH_WORDS = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun|January|February|"
    r"March|April|June|July|August|September|October|November|December|Jan|Feb|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec|"
    r"AM|PM|Hello|Your|You|call|text|hours|every day)\b"
)


@pytest.fixture
def smtp():
    controller, inbox = start()
    yield controller, inbox
    controller.stop()


async def drain(settings, now: datetime | None = None) -> None:
    for _ in range(50):
        counts = await run_once(settings, now=now)
        assert counts["failed"] == 0
        if not any(counts.values()):
            return
    raise AssertionError("the outbox never drained")


def english_fragments() -> set[str]:
    """Pieces of the English sentences of guest mail and invites, between their placeholders."""
    sentences = [*SUBJECTS.values(), *LEADS.values(), *TEXT.values(),
                 "Hello {name},", "Your page (keep this link private): {url}", "If you need support now:",
                 "Reply here: {url}"]
    pieces = set()
    for sentence in sentences:
        for piece in re.split(r"\{[a-z_]+\}", str(sentence)):
            piece = piece.strip(" .,:!?\n")
            if len(piece) >= 8:
                pieces.add(piece)
    return pieces


def token(r: dict) -> str:
    return r["manage_url"].split("token=")[1]


async def rsvp(client, activity_id: int, name: str, addr: str, status: int = 201) -> dict:
    got = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": name, "email": addr})
    assert got.status_code == status, got.text
    return got.json()


async def test_every_guest_mail_of_a_spanish_programme_is_spanish_and_strictly_well_formed(api, client, smtp):
    controller, inbox = smtp
    settings = dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=controller.port, smtp_tls="none")
    p = await api.program(name="Festival Río", languages=["es"], country="ES", timezone="Europe/Madrid",
                          care_email="cuidado@rio.example")
    tent = await api.space(p["id"], "Carpa")
    massage = await api.activity(p["id"], tent["id"], title="Masaje", capacity=1,
                                 starts_at="2027-07-02T10:00", ends_at="2027-07-02T11:00")
    dinner = await api.activity(p["id"], tent["id"], kind="dinner", title="Cena", capacity=1, promotion="offer",
                                hold_hours=2, starts_at="2027-07-03T20:00", ends_at="2027-07-03T22:00")
    invited = await api.activity(p["id"], tent["id"], kind="dinner", rsvp_mode="invite", title="Cena privada",
                                 starts_at="2027-07-04T20:00", ends_at="2027-07-04T22:00")
    residency = await api.activity(p["id"], tent["id"], kind="residency", rsvp_mode="apply", title="Residencia",
                                   capacity=2, starts_at="2027-07-05T10:00", ends_at="2027-07-06T14:00",
                                   slots=[{"starts_at": f"2027-07-0{d}T10:00", "ends_at": f"2027-07-0{d}T14:00"}
                                          for d in (5, 6)])

    lola = await rsvp(client, massage["id"], "Lola", "lola@example.org")        # confirmed
    await rsvp(client, massage["id"], "Pepe", "pepe@example.org")        # waitlisted
    await drain(settings)
    await rsvp(client, massage["id"], "Lola", "lola@example.org", status=202)  # link_resent
    await drain(settings)
    assert (await client.post(f"/api/rsvps/{lola['id']}/cancel", params={"token": token(lola)})).status_code == 200
    await drain(settings)                                                       # cancelled, promoted
    await api.patch(f"/api/activities/{massage['id']}", {"starts_at": "2027-07-02T11:00", "ends_at": "2027-07-02T12:00"},
                    expect=200)
    await drain(settings)                                                       # activity_changed
    assert await send_due_reminders(now=START + timedelta(hours=1) - timedelta(hours=24)) == 1
    await drain(settings, now=START - timedelta(hours=22))                      # reminder
    await api.post(f"/api/activities/{massage['id']}/cancel", {"reason": "Lluvia"}, expect=200)
    await drain(settings)                                                       # activity_cancelled

    ana = await rsvp(client, dinner["id"], "Ana", "ana@example.org")
    await rsvp(client, dinner["id"], "Bea", "bea@example.org")
    await drain(settings)
    assert (await client.post(f"/api/rsvps/{ana['id']}/cancel", params={"token": token(ana)})).status_code == 200
    await drain(settings)                                                       # offered
    later = datetime.now(UTC) + timedelta(hours=3)
    assert await expire_offers(now=later) == 1
    await drain(settings, now=later)                                            # offer_expired

    await api.post(f"/api/activities/{invited['id']}/invitations", {"name": "Noa", "email": "noa@example.org"}, expect=201)
    kai = await rsvp(client, residency["id"], "Kai", "kai@example.org")         # applied
    mia = await rsvp(client, residency["id"], "Mia", "mia@example.org")
    await drain(settings)
    await api.post(f"/api/rsvps/{kai['id']}/approve", expect=200)               # confirmed, both days
    await api.post(f"/api/rsvps/{mia['id']}/decline", expect=200)               # declined
    await drain(settings)

    messages = [email.message_from_bytes(raw, policy=STRICT) for raw in inbox.raw]  # raises on any defect
    subjects = {m["Subject"] for m in messages}
    t = translations("es").gettext
    for kind in ("confirmed", "waitlisted", "link_resent", "cancelled", "promoted", "activity_changed",
                 "activity_cancelled", "offered", "offer_expired", "invitation", "applied", "declined"):
        title = {"offered": "Cena", "offer_expired": "Cena", "invitation": "Cena privada", "applied": "Residencia",
                 "declined": "Residencia"}.get(kind, "Masaje")
        assert t(SUBJECTS[kind]).format(title=title) in subjects, kind
    assert t(SUBJECTS["reminder"]).format(title="Masaje", hours=24) in subjects

    fragments = english_fragments()
    resources = await SupportResource.select(SupportResource.name).where(SupportResource.program == p["id"])
    translated = [(r["name"], t(r["name"])) for r in resources if t(r["name"]) != r["name"]]
    assert translated, "the Spanish catalogue names some of the programme's support resources"
    invites = 0
    for message in messages:
        assert message["Content-Language"] == "es"
        assert message["From"].addresses[0].display_name == "Festival Río"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        readable = [message["Subject"], text]
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                invites += 1
                [event] = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[:1]
                readable.append(str(event.get("DESCRIPTION", "")))
        for words in readable:
            found = [f for f in fragments if f in words]
            assert not found, (message["Subject"], found)
            assert not ENGLISH_WORDS.search(words), (message["Subject"], ENGLISH_WORDS.search(words))
            for english, _spanish in translated:
                assert english not in words
        assert 'lang="es"' in html
        if message["To"] != "noa@example.org":
            # The support resources are named in Spanish.
            assert all(spanish in text for _, spanish in translated), message["Subject"]
        # Every time is a Spanish date with the zone: "viernes, 2 de julio de 2027, 11:00 – 12:00 CEST".
        assert re.search(r"\w+, \d+ de \w+ de 2027, \d\d:\d\d – \d\d:\d\d CEST", text), text
    assert invites >= 5  # confirmed, cancelled (CANCEL), promoted, updated, the residency's confirmation
