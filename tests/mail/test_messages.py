"""Every mail through Python's strict parser, and the story a guest reads when things change before mail leaves."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import icalendar
import pytest

from planner.accounts import links
from planner.accounts.tables import User
from planner.clock import utcnow
from planner.mail.render import encoded_words
from planner.mail.worker import run_once
from planner.outbox.rules import enqueue, message_row
from planner.outbox.tables import OutboxMessage
from planner.programs import team
from planner.rsvps.messages import broadcast, send_due_reminders
from planner.scheduling.tables import Activity
from planner.settings import get_settings
from tests.calendar.test_clients import london
from tests.mail.smtp import start

STRICT = email.policy.default.clone(raise_on_defect=True)
# A long title with emoji, dashes, accents, CJK and (set in the database, whatever the API allows) a line break.
TITLE = "Baño de sonido 🎶 — respiración consciente\ncon música en vivo y té 🍵 – Escenario Río, día 3 · 日本語 🧘\u200d♀️"
ONE_LINE = " ".join(TITLE.split())


@pytest.fixture
def smtp():
    controller, inbox = start()
    yield controller, inbox
    controller.stop()


def settings_for(port: int):
    return dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")


async def send_all(settings, now=None) -> dict:
    total = {"sent": 0, "failed": 0, "logged": 0, "superseded": 0}
    for _ in range(50):
        counts = await run_once(settings, now=now)
        for key in total:
            total[key] += counts[key]
        if not any(counts.values()):
            return total
    raise AssertionError("the outbox never drained")


def strict(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=STRICT)


def text_of(message: EmailMessage) -> str:
    # Babel (CLDR) puts a narrow no-break space before AM/PM.
    return message.get_body(("plain",)).get_content().replace("\u202f", " ")


def token(r: dict) -> str:
    return r["manage_url"].split("token=")[1]


def check_headers(raw: bytes, message: EmailMessage, *, programme: str, care: str) -> None:
    settings = get_settings()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    # No empty encoded-word, no encoded-word over 75 characters.
    assert not re.search(rb"=\?utf-8\?[bq]\?\?=", head, re.I)
    assert all(len(w) <= 75 for w in re.findall(rb"=\?[^?]+\?[bqBQ]\?[^?]*\?=", head))
    assert abs(parsedate_to_datetime(message["Date"]) - utcnow()) < timedelta(minutes=10)
    assert re.fullmatch(r"<[0-9a-f]{32}@testserver\.local>", message["Message-ID"])
    assert message["From"].addresses[0].display_name == programme
    assert message["From"].addresses[0].addr_spec == settings.mail_from
    assert message["Reply-To"].addresses[0].addr_spec == care
    assert message["Auto-Submitted"] == "auto-generated"


def calendar_of(message: EmailMessage) -> tuple[str, icalendar.Calendar] | None:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    if not parts:
        return None
    [part] = parts
    calendar = icalendar.Calendar.from_ical(part.get_content())
    return part.get_param("method"), calendar


def test_encoded_words_round_trip_any_subject_exactly():
    for subject in (ONE_LINE, "🎶" * 40, "a — b – c 🍵 d", "x" * 10 + "é" + " " * 3 + "🧘\u200d♀️ end"):
        words = encoded_words(subject)
        assert all(w and len(w) <= 75 for w in words)
        raw = b"Subject: " + "\r\n ".join(words).encode() + b"\r\n\r\nbody\r\n"
        assert strict(raw)["Subject"] == subject


async def test_every_mail_parses_strictly_with_the_guests_own_times_and_language(api, client, smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    p = await api.program(name="Festival Río — Verano 🌞", care_email="cuidado@rio.example", languages=["es", "en"])
    tent = await api.space(p["id"], "Carpa")
    studio = await api.space(p["id"], "Estudio")
    slots = [{"starts_at": f"2027-07-02T10:{m:02d}", "ends_at": f"2027-07-02T{10 + (m + 20) // 60}:{(m + 20) % 60:02d}"}
             for m in (0, 20, 40)]
    massage = await api.activity(p["id"], tent["id"], title="Masaje", starts_at="2027-07-02T10:00",
                                 ends_at="2027-07-02T11:00", capacity=1, slots=slots)
    await Activity.update({Activity.title: TITLE}).where(Activity.id == massage["id"])
    days = [{"starts_at": f"2027-07-0{d}T10:00", "ends_at": f"2027-07-0{d}T14:00"} for d in (3, 4)]
    residency = await api.activity(p["id"], studio["id"], kind="residency", rsvp_mode="apply", title="Residencia",
                                   starts_at="2027-07-03T10:00", ends_at="2027-07-04T14:00", capacity=2, slots=days)
    dinner = await api.activity(p["id"], studio["id"], kind="dinner", rsvp_mode="invite", title="Cena",
                                starts_at="2027-07-05T20:00", ends_at="2027-07-05T22:00", capacity=4)

    lola = (await client.post(f"/api/activities/{massage['id']}/rsvps", json={
        "name": "Lola", "email": "lola@example.org", "slot_id": massage["slots"][1]["id"], "language": "es"})).json()
    await client.post(f"/api/activities/{massage['id']}/rsvps", json={
        "name": "Ben", "email": "ben@example.org", "slot_id": massage["slots"][1]["id"], "language": "en"})
    kai = (await client.post(f"/api/activities/{residency['id']}/rsvps", json={
        "name": "Kai", "email": "kai@example.org", "language": "es"})).json()
    await api.post(f"/api/activities/{dinner['id']}/invitations", {"name": "Noa", "email": "noa@example.org"}, expect=201)
    await send_all(settings)
    await api.post(f"/api/rsvps/{kai['id']}/approve", expect=200)
    await send_all(settings)
    await api.patch(f"/api/activities/{massage['id']}", {"what_to_bring": "Agua"}, expect=200)
    await send_all(settings)
    assert (await client.post(f"/api/rsvps/{lola['id']}/cancel", params={"token": token(lola)})).status_code == 200
    assert (await send_all(settings))["failed"] == 0

    assert len(inbox.raw) >= 8
    ids = set()
    for raw in inbox.raw:
        message = strict(raw)  # raises on any defect
        check_headers(raw, message, programme="Festival Río — Verano 🌞", care="cuidado@rio.example")
        ids.add(message["Message-ID"])
        got = calendar_of(message)
        if got:
            method, calendar = got
            assert method == str(calendar["METHOD"])
            assert str(calendar.walk("VEVENT")[0]["ORGANIZER"]) == f"mailto:{get_settings().mail_from}"
    assert len(ids) == len(inbox.raw)

    lolas = [strict(raw) for raw in inbox.raw if b"lola@example.org" in raw.split(b"\r\n\r\n")[0]]
    assert [m["Subject"] for m in lolas][0].endswith(ONE_LINE)  # the title, every character, on one line
    for message in lolas:
        text = text_of(message)
        # Her own 20-minute slot, in Spanish, with the zone: not the activity's hour.
        assert "viernes, 2 de julio de 2027, 10:20 – 10:40 EDT" in text, text
        assert "10:00" not in text
    methods = [calendar_of(m)[0] if calendar_of(m) else None for m in lolas]
    assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    bens = [strict(raw) for raw in inbox.raw if b"To: ben@example.org" in raw]
    assert "Friday, July 2, 2027, 10:20 AM – 10:40 AM EDT" in text_of(bens[-1])
    [kais_confirmation] = [strict(raw) for raw in inbox.raw if b"To: kai@example.org" in raw and b"text/calendar" in raw]
    text = text_of(kais_confirmation)
    assert "sábado, 3 de julio de 2027, 10:00 – 14:00 EDT" in text and "domingo, 4 de julio de 2027" in text
    [noa] = [strict(raw) for raw in inbox.raw if b"To: noa@example.org" in raw]
    assert noa["Content-Language"] == "es" and "lunes, 5 de julio de 2027" in text_of(noa)


async def test_a_guest_who_cancels_before_the_mail_leaves_gets_no_stale_confirmation(api, setup, client, smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Sound bath", capacity=1)
    ana = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()
    ben = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben", "email": "ben@example.org"})).json()
    await api.patch(f"/api/activities/{a['id']}", {"starts_at": "2027-07-02T12:00", "ends_at": "2027-07-02T13:00"}, expect=200)
    assert (await client.post(f"/api/rsvps/{ana['id']}/cancel", params={"token": token(ana)})).status_code == 200
    assert (ana["status"], ben["status"]) == ("confirmed", "waitlisted")
    assert await OutboxMessage.count() == 5  # confirmed, waitlisted, updated, cancelled, promoted

    counts = await send_all(settings)
    assert counts["failed"] == 0
    anas = [strict(raw) for raw in inbox.raw if b"To: ana@example.org" in raw]
    # Only the news that is still true: no "You're confirmed", no "Updated"; and no invite to take back.
    assert [m["Subject"] for m in anas] == ["Cancelled: Sound bath"]
    assert calendar_of(anas[0]) is None
    bens = [strict(raw) for raw in inbox.raw if b"To: ben@example.org" in raw]
    assert [m["Subject"] for m in bens] == ["A place opened up: you're confirmed for Sound bath"]
    method, _ = calendar_of(bens[0])
    assert method == "REQUEST"
    assert "12:00 PM – 1:00 PM EDT" in text_of(bens[0])
    assert await OutboxMessage.count().where(OutboxMessage.sent_at.is_null()) == 0
    dropped = await OutboxMessage.select(OutboxMessage.kind).where(OutboxMessage.last_error.like("superseded:%"))
    assert sorted(row["kind"] for row in dropped) == ["activity_changed", "confirmed", "waitlisted"]


async def test_a_confirmation_and_a_waiting_update_arrive_as_one_message(api, setup, client, smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Breathwork")
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Cleo", "email": "cleo@example.org"})
    await api.patch(f"/api/activities/{a['id']}", {"starts_at": "2027-07-02T15:00", "ends_at": "2027-07-02T16:00"}, expect=200)
    await send_all(settings)
    [message] = [strict(raw) for raw in inbox.raw]
    assert message["Subject"] == "You're confirmed: Breathwork"
    assert "3:00 PM – 4:00 PM EDT" in text_of(message)
    [event] = calendar_of(message)[1].walk("VEVENT")
    assert event["DTSTART"].dt.hour == 15


async def test_a_retry_carries_the_same_message_id(api, setup, client, smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Dee", "email": "dee@example.org"})
    inbox.fail = True
    assert (await run_once(settings))["failed"] == 1
    inbox.fail = False
    assert (await send_all(settings, now=utcnow() + timedelta(minutes=5)))["sent"] == 1
    [refused] = inbox.refused
    [accepted] = inbox.raw
    assert strict(refused)["Message-ID"] == strict(accepted)["Message-ID"]
    assert strict(refused)["Date"] == strict(accepted)["Date"]


async def test_mail_about_either_pass_of_a_repeated_hour_says_which_one(api, client, smtp):
    # London's fall-back night, 31 October 2027: 01:30 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
    controller, inbox = smtp
    setup = await london(api, client)
    assert (await send_all(settings_for(controller.port)))["failed"] == 0
    texts = {strict(raw)["Subject"]: text_of(strict(raw)) for raw in inbox.raw}
    first = texts["You're confirmed: Yoga: first pass"]
    second = texts["You're confirmed: Yoga: second pass"]
    assert "Sunday, October 31, 2027, 1:30 AM – 1:50 AM BST (UTC+1)" in first, first
    assert "Sunday, October 31, 2027, 1:30 AM – 1:50 AM GMT (UTC+0)" in second, second
    # Across the change: each end with its own zone; a time outside the repeated hour needs no offset.
    across = texts["You're confirmed: Yoga: across the fall-back"]
    assert "Sunday, October 31, 2027, 12:30 AM BST – 3:00 AM GMT" in across, across
    assert setup["rsvps"]["first pass"]["status"] == "confirmed"


async def test_every_other_kind_of_mail_parses_strictly_too(api, client, smtp):
    """Care messages, team invitations, password resets, organizers' messages, follow-ups, a residency's
    day reminder and stock alerts: the same headers, lossless long non-ASCII subjects, no defect."""
    controller, inbox = smtp
    settings = settings_for(controller.port)
    name = "Festival Río — Verano 🌞 con música en vivo, té y baños de sonido · 日本語 🧘"
    p = await api.program(name=name, care_email="cuidado@rio.example", languages=["es", "en"])
    studio = await api.space(p["id"], "Estudio")
    days = [{"starts_at": f"2027-07-0{d}T10:00", "ends_at": f"2027-07-0{d}T14:00"} for d in (3, 4)]
    residency = await api.activity(p["id"], studio["id"], kind="residency", title="Residencia",
                                   starts_at="2027-07-03T10:00", ends_at="2027-07-04T14:00", capacity=2, slots=days)
    kai = (await client.post(f"/api/activities/{residency['id']}/rsvps", json={
        "name": "Kai", "email": "kai@example.org", "language": "es"})).json()
    assert kai["status"] == "confirmed"
    await send_all(settings)
    inbox.raw.clear()
    now = utcnow()
    organizer = await User.select().where(User.email == "organizer@example.org").first()

    got = await client.post(f"/api/rsvps/{kai['id']}/care", params={"token": token(kai)},
                            json={"message": "Necesito hablar con alguien 🙏"})
    assert got.status_code == 202, got.text
    await team.invite_member(p["id"], {"email": "nuevo@example.org", "role": "staff"}, user=organizer, now=now,
                             base_url=get_settings().base_url)
    await links.request_reset("organizer@example.org", now=now, client="test", base_url=get_settings().base_url)
    subject = "Cambio de sala — 🎶 la residencia pasa al Estudio B, con té y música en vivo 🍵"
    assert await broadcast({"subject": subject, "message": "Nos vemos allí.", "audience": "confirmed"},
                           activity_id=residency["id"], user=organizer, now=now) == 1
    await OutboxMessage.insert(message_row(kind="feedback", to="kai@example.org", rsvp_id=kai["id"], now=now))
    await enqueue(kind="low_stock", to="organizer@example.org", now=now, subject=f"Low stock: Té 🍵 (3 left) · {name}",
                  body_text="Té 🍵 is down to 3.")
    assert (await send_all(settings))["failed"] == 0
    day_two = datetime.fromisoformat(residency["slots"][1]["starts_at"]) - timedelta(hours=24)
    assert await send_due_reminders(now=day_two) == 1
    assert (await send_all(settings, now=day_two))["failed"] == 0

    kinds = {row["kind"] for row in await OutboxMessage.select(OutboxMessage.kind).where(OutboxMessage.last_error == "")}
    assert {"care", "account_invite", "password_reset", "broadcast", "feedback", "low_stock", "reminder"} <= kinds
    assert len(inbox.raw) == 7
    subjects = set()
    for raw in inbox.raw:
        message = strict(raw)
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert max(len(line) for line in head.split(b"\r\n")) <= 78
        assert not re.search(rb"=\?utf-8\?[bq]\?\?=", head, re.I)
        assert re.fullmatch(r"<[0-9a-f]{32}@testserver\.local>", message["Message-ID"])
        assert parsedate_to_datetime(message["Date"])
        assert message["From"].addresses[0].addr_spec == get_settings().mail_from
        assert message["Auto-Submitted"] == "auto-generated"
        subjects.add(message["Subject"])
    assert subject in subjects  # the organizer's words, every character
    assert f"Low stock: Té 🍵 (3 left) · {name}" in subjects
    [reminder] = [strict(raw) for raw in inbox.raw if "día 2" in strict(raw)["Subject"]]
    assert "domingo, 4 de julio de 2027, 10:00 – 14:00 EDT" in text_of(reminder)
    assert "sábado" not in text_of(reminder)  # that day's time only


async def test_guests_with_internationalised_addresses_get_their_mail(api, setup, client):
    """A domain with non-ASCII letters goes out in its IDNA (ASCII) form, which every server takes; a mailbox
    with non-ASCII letters goes out with SMTPUTF8 to a server that offers it; neither is retried forever."""
    controller, inbox = start(smtputf8=True)
    try:
        settings = settings_for(controller.port)
        a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Sound bath")
        unwritable = "max@" + "ü" * 64 + ".example"  # a label IDNA cannot write (over 63 octets)
        for name, addr in (("Ana", "ana@bücher.example"), ("José", "josé@ejemplo.es"), ("Zoe", "zoe@example.org"),
                           ("Max", unwritable)):
            got = await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": name, "email": addr})
            assert got.status_code == 201, got.text
        assert await send_all(settings) == {"sent": 3, "failed": 0, "logged": 0, "superseded": 1}
        [skipped] = await OutboxMessage.select().where(OutboxMessage.to_addr == unwritable)
        assert skipped["sent_at"] is not None and skipped["last_error"].startswith("skipped:")
    finally:
        controller.stop()
    envelopes = {rcpt[0]: "SMTPUTF8" in options for _, rcpt, options in inbox.envelopes}
    assert envelopes == {"ana@xn--bcher-kva.example": False, "josé@ejemplo.es": True, "zoe@example.org": False}
    by_to = {}
    for raw in inbox.raw:
        # An SMTPUTF8 message's headers are UTF-8 (RFC 6532): read as text, still strictly.
        message = email.message_from_string(raw.decode("utf-8"), policy=STRICT)
        by_to[message["To"].addresses[0].addr_spec] = (raw, message)
        assert message["Subject"] == "You're confirmed: Sound bath"
    assert set(by_to) == {"ana@xn--bcher-kva.example", "josé@ejemplo.es", "zoe@example.org"}
    # No encoded-word inside an address (RFC 2047 forbids it): the IDNA form, or UTF-8 itself under SMTPUTF8.
    for raw, _ in by_to.values():
        assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\nTo:", 1)[1].split(b"\r\n", 1)[0]
    assert by_to["ana@xn--bcher-kva.example"][0].isascii()
    assert "José" in text_of(by_to["josé@ejemplo.es"][1])
