"""Calendar invites in real emails: the outbox worker sends them to an in-process SMTP server."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email.message import Message
from email.utils import parseaddr

import icalendar
import pytest

from planner.mail.worker import run_once
from planner.settings import get_settings
from tests.mail.smtp import start


@pytest.fixture
def smtp():
    controller, inbox = start()
    yield controller, inbox
    controller.stop()


def settings_for(port: int):
    return dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")


async def send_all(settings) -> None:
    while True:
        counts = await run_once(settings)
        assert counts["failed"] == 0, counts
        if not counts["sent"]:
            return


def calendar_parts(message: Message) -> list[Message]:
    return [part for part in message.walk() if part.get_content_type() == "text/calendar"]


def invite_in(message: Message) -> tuple[str, icalendar.Calendar]:
    """The method parameter of the message's one text/calendar part, and the calendar it carries."""
    [part] = calendar_parts(message)
    calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    # The same invite is attached as a file for clients that ignore the inline part.
    [attachment] = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert attachment.get_payload(decode=True) == part.get_payload(decode=True)
    return part.get_param("method"), calendar


def only(messages: list[Message], subject_start: str) -> Message:
    [message] = [m for m in messages if m["Subject"].startswith(subject_start)]
    return message


async def test_confirmation_change_and_guest_cancel_carry_request_then_cancel(api, client, smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    p = await api.program(care_email="care@riverside.example")
    s = await api.space(p["id"], "Wellness tent")
    a = await api.activity(p["id"], s["id"], title="Sound bath", capacity=1)
    zoe = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Zoë", "email": "zoe@example.org"})).json()
    ben = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben", "email": "ben@example.org"})).json()
    assert (zoe["status"], ben["status"]) == ("confirmed", "waitlisted")
    await send_all(settings)

    confirmed = only(inbox.to("zoe@example.org"), "You're confirmed")
    method, calendar = invite_in(confirmed)
    assert method == "REQUEST" and calendar["METHOD"] == "REQUEST"
    assert [part.get_content_type() for part in calendar_parts(confirmed)] == ["text/calendar"]
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == f"rsvp-{zoe['id']}@testserver.local"
    assert event["ORGANIZER"] == f"mailto:{settings.mail_from}"
    assert confirmed["Reply-To"] == "care@riverside.example"
    assert parseaddr(confirmed["From"])[1] == settings.mail_from
    assert event["ATTENDEE"] == "mailto:zoe@example.org"
    assert event["DTSTART"].dt.astimezone(UTC) == datetime(2027, 7, 2, 14, 0, tzinfo=UTC)
    # A waitlist message promises nothing for the calendar.
    assert calendar_parts(only(inbox.to("ben@example.org"), "You're on the waitlist")) == []

    await api.patch(f"/api/activities/{a['id']}", {"starts_at": "2027-07-02T12:00", "ends_at": "2027-07-02T13:00"}, expect=200)
    await send_all(settings)
    method, calendar = invite_in(only(inbox.to("zoe@example.org"), "Updated"))
    [moved] = calendar.walk("VEVENT")
    assert method == "REQUEST"
    assert moved["UID"] == event["UID"] and moved["SEQUENCE"] > event["SEQUENCE"]
    assert moved["DTSTART"].dt.astimezone(UTC) == datetime(2027, 7, 2, 16, 0, tzinfo=UTC)

    token = zoe["manage_url"].split("token=")[1]
    assert (await client.post(f"/api/rsvps/{zoe['id']}/cancel", params={"token": token})).status_code == 200
    await send_all(settings)
    method, calendar = invite_in(only(inbox.to("zoe@example.org"), "Cancelled"))
    [cancelled] = calendar.walk("VEVENT")
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert cancelled["UID"] == event["UID"] and cancelled["SEQUENCE"] > moved["SEQUENCE"]
    assert cancelled["STATUS"] == "CANCELLED"
    # Ben moved up from the waitlist: his confirmation carries his own invite.
    method, calendar = invite_in(only(inbox.to("ben@example.org"), "A place opened up"))
    assert method == "REQUEST"
    assert calendar.walk("VEVENT")[0]["UID"] == f"rsvp-{ben['id']}@testserver.local"


async def test_organizer_cancel_sends_every_confirmed_guest_a_cancel(api, setup, client, smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Breathwork")
    guests = [
        (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": who, "email": f"{who}@example.org"})).json()
        for who in ("ana", "cleo")
    ]
    await send_all(settings)
    requests = {g["email"]: invite_in(only(inbox.to(g["email"]), "You're confirmed"))[1].walk("VEVENT")[0] for g in guests}

    await api.post(f"/api/activities/{a['id']}/cancel", {"reason": "Storm warning"}, expect=200)
    await send_all(settings)
    for g in guests:
        method, calendar = invite_in(only(inbox.to(g["email"]), "Cancelled"))
        [event] = calendar.walk("VEVENT")
        assert method == "CANCEL"
        assert event["UID"] == requests[g["email"]]["UID"]
        assert event["SEQUENCE"] > requests[g["email"]]["SEQUENCE"]
