"""Anonymous feedback: one tap after a session, stored only as tallies that cannot be tied to a guest."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from planner import db
from planner.accounts.rules import user_by_id
from planner.mail.render import render
from planner.outbox.tables import OutboxMessage
from planner.reports import feedback
from planner.rsvps.tables import Rsvp
from tests.reports import scenario

AFTER = datetime(2027, 7, 10, tzinfo=UTC)


async def organizer() -> dict:
    rows = await db.raw("SELECT id FROM planner_user WHERE email = {}", "organizer@example.org")
    return await user_by_id(rows[0]["id"])


async def guest_page(client, rsvp: dict):
    r = await client.get(f"/r/{rsvp['id']}", params={"token": scenario.token_of(rsvp)})
    assert r.status_code == 200
    return r


async def tap(client, rsvp: dict, question: str, value: str):
    await guest_page(client, rsvp)  # sets the CSRF cookie, as a browser would have it
    return await client.post(f"/feedback/{rsvp['id']}", params={"token": scenario.token_of(rsvp)},
                             data={"question": question, "value": value, "_csrf_token": client.cookies.get("csrftoken")},
                             follow_redirects=False)


async def tallies() -> dict:
    rows = await db.raw("SELECT question, answer, sum(count) AS n FROM feedback_tally GROUP BY question, answer")
    return {(r["question"], r["answer"]): int(r["n"]) for r in rows if int(r["n"])}


async def columns(table: str) -> set[str]:
    if db.is_postgres():
        rows = await db.raw("SELECT column_name AS name FROM information_schema.columns WHERE table_name = {}", table)
    else:
        rows = await db.raw(f"PRAGMA table_info({table})")
    return {r["name"] for r in rows}


async def test_feedback_is_offered_only_when_turned_on_and_after_a_check_in(api, client):
    s = await scenario.build(api, client)
    alice, hugo = s["rsvps"]["alice2"], s["rsvps"]["hugo"]
    assert "How do you feel now?" not in (await guest_page(client, alice)).text
    r = await tap(client, alice, "mood", "4")
    assert r.status_code == 404 and await tallies() == {}
    await feedback.set_enabled(s["program"]["id"], True, user=await organizer())
    assert "How do you feel now?" in (await guest_page(client, alice)).text
    # Hugo never came: nothing to ask, and a tap is refused without writing anything.
    assert "How do you feel now?" not in (await guest_page(client, hugo)).text
    r = await tap(client, hugo, "mood", "5")
    assert r.status_code == 303 and "feedback-closed" in r.headers["location"]
    assert await tallies() == {}
    assert (await db.raw("SELECT count(*) AS n FROM feedback_marker"))[0]["n"] == 0


async def test_feedback_counts_one_answer_per_rsvp_and_question(api, client):
    s = await scenario.build(api, client)
    await feedback.set_enabled(s["program"]["id"], True, user=await organizer())
    alice, carol = s["rsvps"]["alice1"], s["rsvps"]["carol"]
    assert (await tap(client, alice, "mood", "4")).status_code == 303
    assert (await tap(client, alice, "mood", "1")).status_code == 303  # a second tap changes nothing
    assert (await tap(client, alice, "again", "yes")).status_code == 303
    assert (await tap(client, carol, "mood", "2")).status_code == 303
    assert await tallies() == {("mood", "4"): 1, ("again", "yes"): 1, ("mood", "2"): 1}
    page = (await guest_page(client, alice)).text
    assert "You have answered both questions" in page
    # Bad answers are refused with a sentence, and change nothing.
    r = await tap(client, carol, "mood", "9")
    assert r.status_code == 400 and await tallies() == {("mood", "4"): 1, ("again", "yes"): 1, ("mood", "2"): 1}
    # A wrong token looks like an unknown link.
    r = await client.post(f"/feedback/{alice['id']}", params={"token": "nope"}, data={"question": "mood", "value": "3",
                          "_csrf_token": client.cookies.get("csrftoken")})
    assert r.status_code == 404


async def test_feedback_cannot_be_tied_to_a_guest(api, client):
    s = await scenario.build(api, client)
    await feedback.set_enabled(s["program"]["id"], True, user=await organizer())
    answered = [s["rsvps"]["alice1"], s["rsvps"]["carol"], s["rsvps"]["gina"], s["rsvps"]["jane"]]
    for rsvp, mood in zip(answered, ["5", "3", "3", "4"]):
        await tap(client, rsvp, "mood", mood)
        await tap(client, rsvp, "again", "yes")
    # What the tables hold: no RSVP, person, time of day or address, only tallies and opaque markers.
    assert await columns("feedback_tally") == {"id", "program", "activity", "day", "question", "answer", "count"}
    assert await columns("feedback_marker") == {"key"}
    tally = await db.raw("SELECT * FROM feedback_tally ORDER BY id")
    markers = [r["key"] for r in await db.raw("SELECT key FROM feedback_marker")]
    assert len(markers) == 8 and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in markers)
    # All answers of a session's question were created together (in one fixed order), before any count.
    breath = [r for r in tally if r["activity"] == s["activities"]["breath"]["id"]]
    assert [(r["question"], r["answer"]) for r in breath] == [("mood", a) for a in "12345"] + [("again", a) for a in ("yes", "maybe", "no")]
    secrets = {r["email"] for r in await Rsvp.select(Rsvp.email)} | {r["name"] for r in await Rsvp.select(Rsvp.name)}
    secrets |= {scenario.token_of(x) for x in answered} | {x["ticket"]["code"] for x in answered if x.get("ticket")}
    dump = repr(tally) + repr(markers)
    for value in secrets:
        assert value not in dump
    # Days only: the tally's day is a date, never a time.
    assert all(len(str(r["day"])) == 10 for r in tally)
    # And the totals add up.
    assert await tallies() == {("mood", "5"): 1, ("mood", "3"): 2, ("mood", "4"): 1, ("again", "yes"): 4}


async def test_feedback_is_shown_only_in_aggregate_with_the_small_number_rule(api, client):
    s = await scenario.build(api, client)
    pid = s["program"]["id"]
    await feedback.set_enabled(pid, True, user=await organizer())
    for key in ("alice1", "carol", "alice2", "gina", "ivy", "jane"):
        await tap(client, s["rsvps"][key], "again", "yes")
    await tap(client, s["rsvps"]["jane"], "mood", "5")
    full = (await api.get(f"/api/programs/{pid}/report", expect=200)).json()["feedback"]
    assert full["again"] == {"yes": 6} and full["mood"] == {"5": 1}
    shared = (await api.get(f"/api/programs/{pid}/report", params={"shareable": "true"}, expect=200)).json()["feedback"]
    assert shared["again"] == {"yes": 6} and shared["mood"] == {"5": "<5"} and shared["responses"] == "<5"


async def test_feedback_follow_up_mail_goes_once_to_each_admitted_guest_with_an_address(api, client):
    s = await scenario.build(api, client)
    pid = s["program"]["id"]
    user = await organizer()
    await feedback.set_enabled(pid, True, user=user)
    # Before the sessions end, nobody is asked.
    assert await feedback.send_follow_ups(pid, user=user, now=datetime(2027, 7, 1, tzinfo=UTC)) == 0
    sent = await feedback.send_follow_ups(pid, user=user, now=AFTER)
    # alice (two sessions), carol, gina, ivy, jane; not Frank (erased), not the walk-ins, not Hugo (never came).
    assert sent == 6
    assert await feedback.send_follow_ups(pid, user=user, now=AFTER) == 0
    rows = await OutboxMessage.select().where(OutboxMessage.kind == "feedback")
    assert sorted(r["to_addr"] for r in rows) == sorted([scenario.GUESTS[k][1] for k in ("alice", "alice", "carol", "gina", "ivy", "jane")])
    msg = await render(rows[0])
    assert "How do you feel now?" in msg.subject and "/r/" in msg.text and msg.ics is None
