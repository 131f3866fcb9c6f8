"""`planner demo`: a believable programme, built through the rules, and safe to run twice."""
from __future__ import annotations

from datetime import date, timedelta

from planner import clock
from planner.demo import PROGRAM_NAME, festival_start, load_demo
from planner.programs.tables import Membership, Program
from planner.rsvps.seats import counters_match_rows
from planner.rsvps.tables import Invitation, Question, Rsvp
from planner.scheduling.tables import Activity, Host, Slot, Space


async def test_demo_twice_gives_one_programme_with_every_kind():
    first = await load_demo()
    second = await load_demo()

    programs = await Program.select().where(Program.name == PROGRAM_NAME)
    assert len(programs) == 1
    p = programs[0]
    assert f"/p/{p['id']}" in first and f"/p/{p['id']}" in second
    for text in (first, second):
        assert "organizer@demo.local" in text and "staff@demo.local" in text and "wellness-demo" in text
    assert "already there" in second

    # Dates lie about a month ahead, three days long.
    today = clock.local(clock.utcnow(), p["timezone"]).date()
    assert 25 <= (p["starts_on"] - today).days <= 35
    assert p["ends_on"] - p["starts_on"] == timedelta(days=2)
    assert p["timezone"] == "America/New_York" and p["country"] == "US"

    # Nothing was duplicated by the second run.
    assert await Space.count().where(Space.program == p["id"]) == 4
    assert await Host.count().where(Host.program == p["id"]) >= 4
    roles = {r["user.email"]: r["role"] for r in await Membership.select(Membership.role, Membership.user.email).where(Membership.program == p["id"])}
    assert roles == {"organizer@demo.local": "organizer", "staff@demo.local": "staff"}

    acts = await Activity.select().where(Activity.program == p["id"])
    assert len(acts) >= 24
    kinds = {a["kind"] for a in acts}
    assert kinds == {"activation", "residency", "dinner"}
    assert 1 <= sum(1 for a in acts if not a["published"]) <= 2

    residency = [a for a in acts if a["kind"] == "residency"]
    assert len(residency) == 1 and residency[0]["rsvp_mode"] == "apply" and residency[0]["capacity"] == 6
    assert await Slot.count().where(Slot.activity == residency[0]["id"]) == 3
    assert await Rsvp.count().where((Rsvp.activity == residency[0]["id"]) & (Rsvp.status == "applied")) >= 2

    dinners = [a for a in acts if a["kind"] == "dinner"]
    assert len(dinners) == 2
    for d in dinners:
        assert (d["rsvp_mode"], d["max_guests"], d["capacity"], d["promotion"]) == ("invite", 1, 12, "offer")
        qs = await Question.select().where(Question.activity == d["id"])
        assert any(q["label"] == "Access needs" and q["sensitive"] for q in qs)
        assert any(q["kind"] == "choice" for q in qs)
    assert await Invitation.count().where(Invitation.activity.is_in([d["id"] for d in dinners])) >= 3
    assert await Rsvp.count().where(Rsvp.activity.is_in([d["id"] for d in dinners]) & (Rsvp.status == "confirmed")) >= 2

    # Timed massage slots of one person each.
    massages = [a for a in acts if a["kind"] == "activation" and "massage" in a["title"].lower()]
    assert massages
    slots = await Slot.select().where(Slot.activity == massages[0]["id"])
    assert len(slots) > 1 and all(s["capacity"] == 1 for s in slots)
    assert all(s["ends_at"] - s["starts_at"] == timedelta(minutes=20) for s in slots)

    # One activation full, with a small waitlist; every slot's counters equal its rows.
    all_slots = await Slot.select().where(Slot.program == p["id"])
    assert any(s["confirmed"] == s["capacity"] and s["waiting"] > 0 and s["capacity"] > 1 for s in all_slots)
    for s in all_slots:
        assert s["confirmed"] <= s["capacity"]
        assert await counters_match_rows(s["id"])
    assert await Rsvp.count().where(Rsvp.program == p["id"]) >= 20


async def test_demo_keeps_an_existing_organizer_account():
    from planner.accounts.rules import create_user

    await create_user("organizer@demo.local", "someone-elses-password", admin=False)
    text = await load_demo()
    assert "its own password was kept" in text
    assert await Program.count().where(Program.name == PROGRAM_NAME) == 1


def test_festival_starts_on_a_friday_about_a_month_ahead():
    for offset in range(14):
        today = date(2026, 1, 1) + timedelta(days=offset)
        start = festival_start(today)
        assert start.weekday() == 4
        assert 28 <= (start - today).days <= 34
