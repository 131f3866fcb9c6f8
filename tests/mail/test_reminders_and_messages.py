"""Reminders before each activity and an organizer's message to chosen guests, through the outbox to a real
SMTP server (aiosmtpd)."""
from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from planner.calendar.when import format_span
from planner.mail.worker import run_once
from planner.outbox.tables import OutboxMessage
from planner.programs.rules import parse_hours
from planner.rsvps.messages import send_due_reminders
from planner.rsvps.tables import ReminderSent
from planner.settings import get_settings
from tests.mail.smtp import start
from tests.scheduling.test_pages import form_token, login

START = datetime(2027, 7, 2, 10, 0, tzinfo=ZoneInfo("America/New_York")).astimezone(timezone.utc)


@pytest.fixture
def smtp():
    ctl, inbox = start()
    yield ctl, inbox
    ctl.stop()


def settings_for(port):
    return dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")


async def drain(settings, now):
    while True:
        c = await run_once(settings, now=now)
        if not any(c.values()):
            return


def text_of(msg) -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


async def rsvp(client, activity_id, name, email):
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": name, "email": email})
    assert r.status_code == 201, r.text
    return r.json()


async def test_reminders_sent_at_the_right_times_once_and_never_to_cancelled(api, setup, client, smtp):
    ctl, inbox = smtp
    s = settings_for(ctl.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=10)
    ana = await rsvp(client, a["id"], "Ana Lima", "ana@example.org")
    ben = await rsvp(client, a["id"], "Ben Ode", "ben@example.org")
    cleo = await rsvp(client, a["id"], "Cleo Park", "cleo@example.org")
    await client.post(f"/api/rsvps/{cleo['id']}/cancel", params={"token": cleo["manage_url"].split("token=")[1]})
    await drain(s, START - timedelta(days=30))
    inbox.messages.clear()

    # 25 hours before: nothing is due yet.
    assert await send_due_reminders(now=START - timedelta(hours=25)) == 0
    # 24 hours before: one reminder each to the two confirmed guests; the cancelled guest gets none.
    assert await send_due_reminders(now=START - timedelta(hours=24)) == 2
    assert await send_due_reminders(now=START - timedelta(hours=23, minutes=59)) == 0
    await drain(s, START - timedelta(hours=23))
    assert sorted(m["To"] for m in inbox.messages) == ["ana@example.org", "ben@example.org"]
    assert all("24 hours" in m["Subject"] for m in inbox.messages)
    body = text_of(inbox.messages[0])
    assert "988" in body  # the local crisis line is in every reminder
    assert "token=" in body

    # Ben cancels; at two hours before only Ana is reminded, once, however many workers run at the same moment.
    await client.post(f"/api/rsvps/{ben['id']}/cancel", params={"token": ben["manage_url"].split("token=")[1]})
    at = START - timedelta(hours=2)
    counts = await asyncio.gather(*[send_due_reminders(now=at) for _ in range(6)])
    assert sum(counts) == 1
    inbox.messages.clear()
    await drain(s, at + timedelta(minutes=1))
    reminders = [m for m in inbox.messages if m["Subject"].startswith("Reminder")]
    assert [(m["To"], "2 hours" in m["Subject"]) for m in reminders] == [("ana@example.org", True)]
    # A restart (a new run) sends nothing again, and after the start nothing is sent at all.
    assert await send_due_reminders(now=at + timedelta(minutes=5)) == 0
    assert await send_due_reminders(now=START + timedelta(minutes=1)) == 0
    assert await ReminderSent.count().where(ReminderSent.rsvp == ana["id"]) == 2
    assert await ReminderSent.count().where(ReminderSent.rsvp == cleo["id"]) == 0


async def test_reminders_follow_the_programme_setting_and_skip_passed_moments(api, setup, client):
    pid = setup["program"]["id"]
    a = await api.activity(pid, setup["space"]["id"], capacity=10)
    await rsvp(client, a["id"], "Ana Lima", "ana@example.org")
    await login(client)
    tok = await form_token(client, f"/programs/{pid}/edit")
    r = await client.post(f"/programs/{pid}/edit", data={"_csrf_token": tok, "name": "Riverside", "languages": "en",
                                                         "reminder_hours": "48, 1"})
    assert r.status_code == 303
    r = await client.post(f"/programs/{pid}/edit", data={"_csrf_token": tok, "name": "Riverside", "reminder_hours": "soon"})
    assert r.status_code == 400 and "whole hours" in r.text
    # The worker was down until 30 minutes before: the 48 h and 1 h moments both passed; only the nearest is sent.
    assert await send_due_reminders(now=START - timedelta(minutes=30)) == 1
    row = await OutboxMessage.select().where(OutboxMessage.kind == "reminder").first()
    assert "\"hours\": 1" in row["context"] or row["context"] == {"hours": 1}
    assert await send_due_reminders(now=START - timedelta(minutes=20)) == 0
    assert parse_hours("24, 2") == [24, 2] and parse_hours("") == []


async def test_message_reaches_exactly_the_chosen_guests(api, setup, client, smtp):
    ctl, inbox = smtp
    s = settings_for(ctl.port)
    pid = setup["program"]["id"]
    a = await api.activity(pid, setup["space"]["id"], capacity=2)
    b = await api.activity(pid, setup["space"]["id"], capacity=5, title="Sound bath", starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    await rsvp(client, a["id"], "Ana Lima", "ana@example.org")
    await rsvp(client, a["id"], "Ben Ode", "ben@example.org")
    await rsvp(client, a["id"], "Cleo Park", "cleo@example.org")  # waitlisted
    dee = await rsvp(client, a["id"], "Dee Roy", "dee@example.org")  # waitlisted, then cancels
    await client.post(f"/api/rsvps/{dee['id']}/cancel", params={"token": dee["manage_url"].split("token=")[1]})
    await rsvp(client, b["id"], "Ana Lima", "ana@example.org")
    await rsvp(client, b["id"], "Eve Diaz", "eve@example.org")
    await drain(s, datetime.now(timezone.utc))
    inbox.messages.clear()

    await login(client)
    tok = await form_token(client, f"/activities/{a['id']}/message")
    form = {"_csrf_token": tok, "audience": "confirmed", "subject": "Room change: Studio B", "message": "We moved to Studio B.\nSame time."}
    preview = await client.post(f"/activities/{a['id']}/message", data=form)
    assert preview.status_code == 200 and "2 guests will be e-mailed" in preview.text
    assert await OutboxMessage.count().where(OutboxMessage.kind == "broadcast") == 0  # nothing sent before confirming
    sent = await client.post(f"/activities/{a['id']}/message", data={**form, "confirmed": "yes"})
    assert sent.status_code == 303 and "n=2" in sent.headers["location"]
    await drain(s, datetime.now(timezone.utc))
    assert sorted(m["To"] for m in inbox.messages) == ["ana@example.org", "ben@example.org"]
    assert all(m["Subject"] == "Room change: Studio B" for m in inbox.messages)
    assert "We moved to Studio B." in text_of(inbox.messages[0])

    # The whole programme's confirmed and waitlisted guests: one message per person, never the cancelled one.
    inbox.messages.clear()
    r = await client.post(f"/programs/{pid}/message", data={"_csrf_token": tok, "audience": ["confirmed", "waitlisted"],
                                                            "subject": "Rain plan", "message": "Bring a coat.", "confirmed": "yes"})
    assert r.status_code == 303
    await drain(s, datetime.now(timezone.utc))
    assert sorted(m["To"] for m in inbox.messages) == ["ana@example.org", "ben@example.org", "cleo@example.org", "eve@example.org"]

    # A header injection in the subject is refused with a sentence, and nothing is queued.
    before = await OutboxMessage.count()
    r = await client.post(f"/programs/{pid}/message", data={"_csrf_token": tok, "audience": "confirmed",
                                                            "subject": "Hi\r\nBcc: x@example.org", "message": "x", "confirmed": "yes"})
    assert r.status_code == 400 and re.search("one line", r.text) and await OutboxMessage.count() == before


async def test_residency_guests_are_reminded_before_each_day_with_that_days_time(api, setup, client, smtp):
    """A residency is one RSVP for all its days (one slot a day): each day has its own 24 h and 2 h reminders,
    with that day's time in the mail, once each, and none after the guest cancels."""
    ctl, inbox = smtp
    s = settings_for(ctl.port)
    zone = setup["program"]["timezone"]
    res = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="residency", title="Studio residency",
                             rsvp_mode="apply", capacity=5, starts_at="2027-07-02T10:00", ends_at="2027-07-04T12:00")
    days = [(datetime.fromisoformat(x["starts_at"]), datetime.fromisoformat(x["ends_at"])) for x in res["slots"]]
    assert len(days) == 3 and days[0][0] == START
    ana = await rsvp(client, res["id"], "Ana Lima", "ana@example.org")
    ben = await rsvp(client, res["id"], "Ben Ode", "ben@example.org")
    await rsvp(client, res["id"], "Cleo Park", "cleo@example.org")  # applied, never approved: no reminders
    for g in (ana, ben):
        await api.post(f"/api/rsvps/{g['id']}/approve", {}, expect=200)
    await drain(s, START - timedelta(days=30))
    inbox.messages.clear()

    async def reminders_at(now) -> list[tuple[str, str, str]]:
        """Run the reminders at `now`, send the mail, and return (to, subject, text) of what arrived."""
        await send_due_reminders(now=now)
        inbox.messages.clear()
        await drain(s, now)
        return sorted((m["To"], m["Subject"], text_of(m)) for m in inbox.messages if m["Subject"].startswith("Reminder"))

    def only_day(text: str, n: int) -> bool:
        spans = [format_span(a, b, zone, "en") for a, b in days]
        return spans[n] in text and all(x not in text for i, x in enumerate(spans) if i != n)

    # Day 1: 24 h and 2 h before, both guests, day 1's time.
    assert await reminders_at(days[0][0] - timedelta(hours=25)) == []
    for h in (24, 2):
        got = await reminders_at(days[0][0] - timedelta(hours=h))
        assert [(to, subj) for to, subj, _t in got] == [("ana@example.org", f"Reminder: day 1 of Studio residency starts in {h} hours"),
                                                         ("ben@example.org", f"Reminder: day 1 of Studio residency starts in {h} hours")]
        assert all(only_day(text, 0) for _to, _s, text in got)
    assert await reminders_at(days[0][0] - timedelta(minutes=1)) == []

    # Day 2 (after day one has begun): 24 h before day 2's start is day 1's start.
    got = await reminders_at(days[1][0] - timedelta(hours=24))
    assert [(to, subj.endswith("day 2 of Studio residency starts in 24 hours"), only_day(text, 1)) for to, subj, text in got] == [
        ("ana@example.org", True, True), ("ben@example.org", True, True)]
    # Ben cancels during day 1: from now on only Ana, once however many workers run at the same moment.
    await client.post(f"/api/rsvps/{ben['id']}/cancel", params={"token": ben["manage_url"].split("token=")[1]})
    at = days[1][0] - timedelta(hours=2)
    assert sum(await asyncio.gather(*[send_due_reminders(now=at) for _ in range(6)])) == 1
    inbox.messages.clear()
    await drain(s, at)
    assert [(m["To"], m["Subject"].endswith("day 2 of Studio residency starts in 2 hours"), only_day(text_of(m), 1)) for m in inbox.messages
            if m["Subject"].startswith("Reminder")] == [("ana@example.org", True, True)]
    assert [m["To"] for m in inbox.messages if not m["Subject"].startswith("Reminder")] == ["ben@example.org"]  # his cancellation
    assert await reminders_at(at + timedelta(minutes=5)) == []

    # Day 3: the same again, Ana only; after the last start nothing more.
    for h in (24, 2):
        got = await reminders_at(days[2][0] - timedelta(hours=h))
        assert [(to, subj, only_day(text, 2)) for to, subj, text in got] == [
            ("ana@example.org", f"Reminder: day 3 of Studio residency starts in {h} hours", True)]
    assert await reminders_at(days[2][0] + timedelta(minutes=1)) == []

    # Once per (guest, day, offset): the key holds the day.
    sent = await ReminderSent.select(ReminderSent.slot, ReminderSent.hours).where(ReminderSent.rsvp == ana["id"])
    assert sorted((x["slot"], x["hours"]) for x in sent) == sorted((x["id"], h) for x in res["slots"] for h in (24, 2))
    assert await ReminderSent.count().where(ReminderSent.rsvp == ben["id"]) == 3
    assert await OutboxMessage.count().where((OutboxMessage.kind == "reminder") & (OutboxMessage.to_addr == "ana@example.org")) == 6
    assert await OutboxMessage.count().where((OutboxMessage.kind == "reminder") & (OutboxMessage.to_addr == "ben@example.org")) == 3
    assert await OutboxMessage.count().where((OutboxMessage.kind == "reminder") & (OutboxMessage.to_addr == "cleo@example.org")) == 0


async def test_a_cancelled_residency_reminds_nobody_of_its_later_days(api, setup, client):
    res = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="residency", title="Studio residency",
                             rsvp_mode="open", capacity=5, starts_at="2027-07-02T10:00", ends_at="2027-07-04T12:00")
    await rsvp(client, res["id"], "Ana Lima", "ana@example.org")
    assert await send_due_reminders(now=START - timedelta(hours=24)) == 1
    await api.post(f"/api/activities/{res['id']}/cancel", {}, expect=200)
    for day in range(3):
        for h in (24, 2):
            assert await send_due_reminders(now=START + timedelta(days=day, hours=-h)) == 0
    assert await ReminderSent.count() == 1


async def test_an_organizers_message_does_not_reach_a_guest_who_left_before_it_went_out(api, setup, client, smtp):
    ctl, inbox = smtp
    s = settings_for(ctl.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=5)
    await rsvp(client, a["id"], "Ana Lima", "ana@example.org")
    ben = await rsvp(client, a["id"], "Ben Ode", "ben@example.org")
    await drain(s, datetime.now(timezone.utc))
    inbox.messages.clear()
    await login(client)
    tok = await form_token(client, f"/activities/{a['id']}/message")
    sent = await client.post(f"/activities/{a['id']}/message", data={"_csrf_token": tok, "audience": "confirmed", "subject": "Rain plan",
                                                                     "message": "Bring a coat.", "confirmed": "yes"})
    assert sent.status_code == 303 and "n=2" in sent.headers["location"]
    # Ben cancels before the message leaves: it is no longer for him.
    await client.post(f"/api/rsvps/{ben['id']}/cancel", params={"token": ben["manage_url"].split("token=")[1]})
    await drain(s, datetime.now(timezone.utc))
    got = sorted((m["To"], m["Subject"]) for m in inbox.messages)
    assert ("ana@example.org", "Rain plan") in got
    assert not any(to == "ben@example.org" and subject == "Rain plan" for to, subject in got), got
