"""Invites and feeds through the HTTP API, against the real database, read back with icalendar."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import recurring_ical_events

from planner.calendar import feeds
from planner.resources.tables import SupportResource
from planner.settings import get_settings
from planner.tokens import feed_token, rsvp_token

BASE = "http://testserver.local"


def path(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE):]


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, (response.status_code, response.text)
    return icalendar.Calendar.from_ical(response.content)


def utc(prop) -> datetime:
    return prop.dt.astimezone(UTC)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def rsvp(client, activity_id: int, who: str = "zoe", expect: int = 201, **kw) -> dict:
    body = {"name": who.title(), "email": f"{who}@example.org", **kw}
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json=body)
    assert r.status_code == expect, r.text
    return r.json()


async def invite(client, r: dict):
    got = await client.get(path(r["invite_ics_url"]))
    calendar = parse(got)
    return got, calendar, calendar.walk("VEVENT")


# ---------------------------------------------------------------- invites

async def test_invite_ics_is_a_request_with_every_detail_and_needs_no_login(api, client):
    p = await api.program(care_email="care@riverside.example", venue_address="1 River Road, Hudson NY")
    tent = await api.space(p["id"], "Wellness tent", address="North field, gate 3")
    studio = await api.space(p["id"], "Studio B")
    a = await api.activity(p["id"], tent["id"], title="Sound bath", what_to_bring="Water, a blanket")
    b = await api.activity(p["id"], studio["id"], title="Songwriting circle", starts_at="2027-07-03T15:00", ends_at="2027-07-03T17:00")
    resources = await SupportResource.select(SupportResource.name).where(SupportResource.program == p["id"]).order_by(SupportResource.position)
    hidden = resources[1]["name"]
    await SupportResource.update({SupportResource.enabled: False}).where(SupportResource.name == hidden)
    r = await rsvp(client, a["id"], "zoe", name="Zoë Ólafsdóttir")

    got, calendar, [event] = await invite(client, r)  # the client sends no credentials
    assert got.headers["content-type"] == "text/calendar; charset=utf-8; method=REQUEST"
    assert got.headers["cache-control"] == "private, no-store"
    assert calendar["METHOD"] == "REQUEST"
    assert event["UID"] == f"rsvp-{r['id']}@testserver.local"
    assert event["SUMMARY"] == "Sound bath"
    assert (utc(event["DTSTART"]), utc(event["DTEND"])) == (z("2027-07-02T14:00"), z("2027-07-02T15:00"))
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["LOCATION"] == "Wellness tent, North field, gate 3"
    assert event["URL"] == r["manage_url"]
    # The ORGANIZER is the address the mail comes from (named after the programme); replies go to care@.
    assert event["ORGANIZER"] == f"mailto:{get_settings().mail_from}"
    assert event["ORGANIZER"].params["CN"] == p["name"]
    assert event["ATTENDEE"] == "mailto:zoe@example.org"
    assert event["ATTENDEE"].params["CN"] == "Zoë Ólafsdóttir"
    assert event["STATUS"] == "CONFIRMED"
    description = str(event["DESCRIPTION"])
    assert description.startswith("What to bring: Water, a blanket\n\nYour page (see, change or cancel): " + r["manage_url"])
    assert resources[0]["name"] in description and hidden not in description
    [occurrence] = recurring_ical_events.of(calendar).between(z("2027-07-01T00:00"), z("2027-07-08T00:00"))
    assert utc(occurrence["DTSTART"]) == z("2027-07-02T14:00")

    # A space without an address falls back to the programme's venue.
    r2 = await rsvp(client, b["id"], "zoe")
    _, _, [event] = await invite(client, r2)
    assert event["LOCATION"] == "Studio B, 1 River Road, Hudson NY"


async def test_invite_ics_refuses_wrong_tokens_and_unconfirmed_places(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1)
    first = await rsvp(client, a["id"], "ana")
    waiting = await rsvp(client, a["id"], "ben")
    assert waiting["status"] == "waitlisted"

    for url in (
        f"/r/{first['id']}/invite.ics?token=wrong",
        f"/r/{first['id']}/invite.ics",
        f"/r/{waiting['id']}/invite.ics?token={rsvp_token(first['id'])}",
        f"/r/99999/invite.ics?token={rsvp_token(99999)}",
    ):
        got = await client.get(url)
        assert got.status_code == 404, (url, got.text)
    got = await client.get(path(waiting["invite_ics_url"]))
    assert got.status_code == 404 and "confirmed" in got.json()["detail"]


async def test_new_time_keeps_the_uid_and_raises_the_sequence(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    r = await rsvp(client, a["id"])
    _, _, [before] = await invite(client, r)

    changed = (await api.patch(f"/api/activities/{a['id']}", {"starts_at": "2027-07-02T16:00", "ends_at": "2027-07-02T17:30"}, expect=200)).json()
    assert changed["sequence"] == a["sequence"] + 1
    _, calendar, [after] = await invite(client, r)
    assert calendar["METHOD"] == "REQUEST"
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert (utc(after["DTSTART"]), utc(after["DTEND"])) == (z("2027-07-02T20:00"), z("2027-07-02T21:30"))

    # A change guests do not see in their calendar leaves the invite alone.
    await api.patch(f"/api/activities/{a['id']}", {"capacity": 12}, expect=200)
    _, _, [same] = await invite(client, r)
    assert same["SEQUENCE"] == after["SEQUENCE"]


async def test_guest_cancel_turns_the_invite_into_a_cancel_with_a_higher_sequence(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    r = await rsvp(client, a["id"])
    _, _, [request] = await invite(client, r)

    token = r["manage_url"].split("token=")[1]
    assert (await client.post(f"/api/rsvps/{r['id']}/cancel", params={"token": token})).status_code == 200
    got, calendar, [cancel] = await invite(client, r)
    assert got.headers["content-type"].endswith("method=CANCEL")
    assert calendar["METHOD"] == "CANCEL"
    assert cancel["UID"] == request["UID"]
    assert cancel["SEQUENCE"] > request["SEQUENCE"]
    assert cancel["STATUS"] == "CANCELLED"
    assert cancel["ATTENDEE"].params["PARTSTAT"] == "DECLINED"
    assert cancel.walk("VALARM") == []


async def test_organizer_cancel_turns_every_invite_into_a_cancel(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    guests = [await rsvp(client, a["id"], who) for who in ("ana", "ben")]
    before = [(await invite(client, r))[2][0] for r in guests]

    await api.post(f"/api/activities/{a['id']}/cancel", {"reason": "Storm warning"}, expect=200)
    for r, old in zip(guests, before):
        _, calendar, [event] = await invite(client, r)
        assert calendar["METHOD"] == "CANCEL"
        assert (event["UID"], event["STATUS"]) == (old["UID"], "CANCELLED")
        assert event["SEQUENCE"] > old["SEQUENCE"]


async def test_residency_invite_has_every_day_at_the_right_instant_across_the_fall_back(api, client):
    # New York falls back on Sunday 7 November 2027: 10:00 local is 14:00Z before, 15:00Z after.
    p = await api.program(starts_on="2027-11-01", ends_on="2027-11-12")
    s = await api.space(p["id"], "Studio A")
    days = [{"starts_at": f"2027-11-{d:02d}T10:00", "ends_at": f"2027-11-{d:02d}T14:00"} for d in range(5, 10)]
    a = await api.activity(p["id"], s["id"], kind="residency", title="Producers' residency", rsvp_mode="apply",
                           starts_at="2027-11-05T10:00", ends_at="2027-11-09T14:00", capacity=3, slots=days)
    r = await rsvp(client, a["id"], "kai")
    assert r["status"] == "applied"
    assert (await client.get(path(r["invite_ics_url"]))).status_code == 404
    await api.post(f"/api/rsvps/{r['id']}/approve", expect=200)

    _, calendar, events = await invite(client, r)
    expected = [z(f"2027-11-{d:02d}T{14 if d < 7 else 15}:00") for d in range(5, 10)]
    # One event (one UID, as CalDAV and iTIP want) whose days are its recurrence set.
    [event] = events
    assert event["UID"] == f"rsvp-{r['id']}@testserver.local"
    occurrences = recurring_ical_events.of(calendar).between(z("2027-11-01T00:00"), z("2027-11-12T00:00"))
    assert sorted(utc(o["DTSTART"]) for o in occurrences) == expected
    assert {utc(o["DTEND"]) - utc(o["DTSTART"]) for o in occurrences} == {timedelta(hours=4)}

    # Declined, then approved again: each message outranks the one before.
    first = events[0]["SEQUENCE"]
    await api.post(f"/api/rsvps/{r['id']}/decline", expect=200)
    _, calendar, events = await invite(client, r)
    assert calendar["METHOD"] == "CANCEL" and len(events) == 1
    declined = events[0]["SEQUENCE"]
    await api.post(f"/api/rsvps/{r['id']}/approve", expect=200)
    _, calendar, events = await invite(client, r)
    assert calendar["METHOD"] == "REQUEST"
    assert first < declined < events[0]["SEQUENCE"]


async def test_times_across_both_daylight_saving_changes_land_at_the_right_instant(api, client):
    p = await api.program(starts_on="2027-03-13", ends_on="2027-11-08")
    s = await api.space(p["id"])
    cases = {
        # 01:30 EST -> 03:30 EDT: one hour.
        ("2027-03-14T01:30", "2027-03-14T03:30"): ("2027-03-14T06:30", "2027-03-14T07:30"),
        # 00:30 EDT -> 03:30 EST: four hours, as 01:00-02:00 happens twice.
        ("2027-11-07T00:30", "2027-11-07T03:30"): ("2027-11-07T04:30", "2027-11-07T08:30"),
    }
    for (start, end), (start_utc, end_utc) in cases.items():
        a = await api.activity(p["id"], s["id"], title="Night yoga", starts_at=start, ends_at=end)
        r = await rsvp(client, a["id"])
        _, calendar, [event] = await invite(client, r)
        assert (utc(event["DTSTART"]), utc(event["DTEND"])) == (z(start_utc), z(end_utc))
        [occurrence] = recurring_ical_events.of(calendar).between(z(start_utc) - timedelta(days=1), z(end_utc) + timedelta(days=1))
        assert (utc(occurrence["DTSTART"]), utc(occurrence["DTEND"])) == (z(start_utc), z(end_utc))


async def test_moving_a_guest_to_another_slot_updates_the_same_event(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Massage", capacity=1, slot_minutes=30)
    first, second = a["slots"]
    r = await rsvp(client, a["id"], slot_id=first["id"])
    _, _, [before] = await invite(client, r)

    await api.post(f"/api/rsvps/{r['id']}/move", {"slot_id": second["id"]}, expect=200)
    _, _, [after] = await invite(client, r)
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert utc(after["DTSTART"]) == z("2027-07-02T14:30")


# ---------------------------------------------------------------- the public feed

async def test_public_feed_lists_published_activities_one_event_per_slot(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    shown = await api.activity(pid, sid, title="Drop-in massage", slot_minutes=20, description="Ten minutes, seated.")
    await api.activity(pid, sid, title="Secret draft", published=False, starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    gone = await api.activity(pid, sid, title="Rained off", starts_at="2027-07-04T10:00", ends_at="2027-07-04T11:00")
    await api.post(f"/api/activities/{gone['id']}/cancel", {}, expect=200)
    await rsvp(client, shown["id"], slot_id=shown["slots"][0]["id"])

    got = await client.get(f"/programs/{pid}/calendar.ics")
    calendar = parse(got)
    assert got.headers["content-type"] == "text/calendar; charset=utf-8"
    assert got.headers["cache-control"] == "public, max-age=300"
    assert "set-cookie" not in got.headers
    assert got.headers["etag"].startswith('"') and got.headers["last-modified"].endswith(" GMT")
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == setup["program"]["name"]
    events = calendar.walk("VEVENT")
    assert [e["UID"] for e in events] == [f"slot-{s['id']}@testserver.local" for s in shown["slots"]]
    assert {str(e["SUMMARY"]) for e in events} == {"Drop-in massage"}
    assert [utc(e["DTSTART"]) for e in events] == [z("2027-07-02T14:00"), z("2027-07-02T14:20"), z("2027-07-02T14:40")]
    assert str(events[0]["DESCRIPTION"]) == f"Ten minutes, seated.\n\nDetails and RSVP: {BASE}/a/{shown['id']}"
    assert b"mailto:" not in got.content and b"zoe" not in got.content
    occurrences = recurring_ical_events.of(calendar).between(z("2027-07-01T00:00"), z("2027-07-08T00:00"))
    assert len(occurrences) == 3
    # The same state gives the same bytes: the ETag is a strong validator.
    again = await client.get(f"/programs/{pid}/calendar.ics")
    assert (again.content, again.headers["etag"]) == (got.content, got.headers["etag"])
    assert (await client.get("/programs/99999/calendar.ics")).status_code == 404


async def test_public_feed_answers_304_without_building_the_feed(api, setup, client, monkeypatch):
    pid = setup["program"]["id"]
    await api.activity(pid, setup["space"]["id"])
    url = f"/programs/{pid}/calendar.ics"
    first = await client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    def refuse(*args, **kwargs):
        raise AssertionError("the feed was built for a conditional request that matched")

    monkeypatch.setattr(feeds, "build_feed", refuse)
    for headers in (
        {"if-none-match": etag},
        {"if-none-match": f'"other", W/{etag}'},
        {"if-none-match": "*"},
        {"if-modified-since": modified},
    ):
        got = await client.get(url, headers=headers)
        assert got.status_code == 304, headers
        assert got.content == b""
        assert (got.headers["etag"], got.headers["last-modified"]) == (etag, modified)
        assert got.headers["cache-control"] == "public, max-age=300"
    monkeypatch.undo()

    # If-None-Match wins over If-Modified-Since; an older date is not fresh.
    assert (await client.get(url, headers={"if-none-match": '"other"', "if-modified-since": modified})).status_code == 200
    assert (await client.get(url, headers={"if-modified-since": "Mon, 01 Jan 2024 00:00:00 GMT"})).status_code == 200
    assert (await client.get(url, headers={"if-modified-since": "not a date"})).status_code == 200


async def test_every_change_a_subscriber_would_see_changes_the_etag(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork")
    url = f"/programs/{pid}/calendar.ics"
    seen = [(await client.get(url)).headers["etag"]]

    async def changed() -> icalendar.Calendar:
        stale = await client.get(url, headers={"if-none-match": seen[-1]})
        assert stale.status_code == 200, "the old ETag still matched after a change"
        assert stale.headers["etag"] not in seen
        seen.append(stale.headers["etag"])
        return parse(stale)

    await api.patch(f"/api/activities/{a['id']}", {"title": "Breathwork at dawn"}, expect=200)
    assert [str(e["SUMMARY"]) for e in (await changed()).walk("VEVENT")] == ["Breathwork at dawn"]
    await client.patch(f"/api/spaces/{sid}", json={"name": "Quiet tent"}, headers=api.h)
    assert [str(e["LOCATION"]) for e in (await changed()).walk("VEVENT")] == ["Quiet tent"]
    draft = await api.activity(pid, sid, title="Tea ceremony", published=False, starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    assert len((await changed()).walk("VEVENT")) == 1
    await api.patch(f"/api/activities/{draft['id']}", {"published": True}, expect=200)
    assert len((await changed()).walk("VEVENT")) == 2
    await api.post(f"/api/activities/{a['id']}/cancel", {}, expect=200)
    assert [str(e["SUMMARY"]) for e in (await changed()).walk("VEVENT")] == ["Tea ceremony"]
    # An RSVP changes nothing in the public feed.
    await rsvp(client, draft["id"])
    assert (await client.get(url, headers={"if-none-match": seen[-1]})).status_code == 304


# ---------------------------------------------------------------- a guest's feed

async def test_guest_feed_holds_their_confirmed_places_only(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork", what_to_bring="Loose clothes")
    full = await api.activity(pid, sid, title="Cold plunge", capacity=1, starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    days = [{"starts_at": f"2027-07-0{d}T18:00", "ends_at": f"2027-07-0{d}T20:00"} for d in (4, 5)]
    residency = await api.activity(pid, sid, kind="residency", title="Writers' room", rsvp_mode="apply", capacity=2,
                                   starts_at="2027-07-04T18:00", ends_at="2027-07-05T20:00", slots=days)
    mine = await rsvp(client, a["id"], "zoe")
    await rsvp(client, full["id"], "ana")
    waiting = await rsvp(client, full["id"], "zoe")
    assert waiting["status"] == "waitlisted"
    applied = await rsvp(client, residency["id"], "zoe")
    await api.post(f"/api/rsvps/{applied['id']}/approve", expect=200)
    other = await rsvp(client, a["id"], "ben")

    url = feeds.guest_feed_url(pid, waiting["id"], "zoe@example.org")  # any of their RSVPs opens it
    assert feeds.guest_feed_url(pid, mine["id"], "zoe@example.org", as_webcal=True).startswith("webcal://testserver.local/feeds/guest/")
    got = await client.get(path(url))
    calendar = parse(got)
    assert got.headers["cache-control"] == "private, max-age=300"
    assert str(calendar["X-WR-CALNAME"]) == f"{setup['program']['name']}: your places"
    events = calendar.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Breathwork", "Writers' room", "Writers' room"]
    assert [utc(e["DTSTART"]) for e in events] == [z("2027-07-02T14:00"), z("2027-07-04T22:00"), z("2027-07-05T22:00")]
    assert events[0]["URL"] == mine["manage_url"] and events[1]["URL"] == applied["manage_url"]
    assert "What to bring: Loose clothes" in str(events[0]["DESCRIPTION"])
    assert b"ben@example.org" not in got.content and other["manage_url"].encode() not in got.content

    # The token belongs to one guest in one programme.
    token = url.split("token=")[1]
    for bad in (
        f"/feeds/guest/{pid}/{mine['id']}.ics?token=wrong",
        f"/feeds/guest/{pid}/{mine['id']}.ics",
        f"/feeds/guest/{pid}/{other['id']}.ics?token={token}",
        f"/feeds/guest/{pid + 1}/{mine['id']}.ics?token={feed_token('guest', f'{pid + 1}:zoe@example.org')}",
        f"/feeds/guest/{pid}/{mine['id']}.txt?token={token}",
        f"/feeds/guest/{pid}/abc.ics?token={token}",
    ):
        assert (await client.get(bad)).status_code == 404, bad

    # Cancelling a place takes it out of the feed, and the old ETag no longer matches.
    assert (await client.get(path(url), headers={"if-none-match": got.headers["etag"]})).status_code == 304
    await client.post(f"/api/rsvps/{mine['id']}/cancel", params={"token": mine["manage_url"].split("token=")[1]})
    after = await client.get(path(url), headers={"if-none-match": got.headers["etag"]})
    assert [str(e["SUMMARY"]) for e in parse(after).walk("VEVENT")] == ["Writers' room", "Writers' room"]
    # The support lines are in every event, so hiding one is a change too.
    first = await SupportResource.select(SupportResource.id, SupportResource.name).where(
        SupportResource.program == pid).order_by(SupportResource.position).first()
    await SupportResource.update({SupportResource.enabled: False}).where(SupportResource.id == first["id"])
    hidden = await client.get(path(url), headers={"if-none-match": after.headers["etag"]})
    assert first["name"] not in str(parse(hidden).walk("VEVENT")[0]["DESCRIPTION"])


# ---------------------------------------------------------------- an organizer's or staff member's feed

async def test_user_feed_has_drafts_tentative_and_every_programme_in_its_own_zone(api, client):
    from tests.conftest import make_user

    ny = await api.program()
    ny_space = await api.space(ny["id"])
    london = await api.program(name="Thames Weekender", timezone="Europe/London", country="GB")
    london_space = await api.space(london["id"], "Garden")
    live = await api.activity(ny["id"], ny_space["id"], title="Breathwork")
    await api.activity(ny["id"], ny_space["id"], title="Tea ceremony", published=False, starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    off = await api.activity(ny["id"], ny_space["id"], title="Rained off", starts_at="2027-07-04T10:00", ends_at="2027-07-04T11:00")
    await api.post(f"/api/activities/{off['id']}/cancel", {}, expect=200)
    await api.activity(london["id"], london_space["id"], title="Garden yoga")

    url = feeds.user_feed_url(await _user_id("organizer@example.org"))
    got = await client.get(path(url))
    calendar = parse(got)
    assert got.headers["cache-control"] == "private, max-age=300"
    by_title = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert {t: str(e["STATUS"]) for t, e in by_title.items()} == {
        "Breathwork": "CONFIRMED", "Tea ceremony": "TENTATIVE", "Rained off": "CANCELLED", "Garden yoga": "CONFIRMED",
    }
    assert str(by_title["Tea ceremony"]["DESCRIPTION"]).startswith("Draft: not published yet.")
    assert by_title["Breathwork"]["URL"] == f"{BASE}/activities/{live['id']}/manage"
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {"America/New_York", "Europe/London"}
    assert by_title["Garden yoga"]["DTSTART"].params["TZID"] == "Europe/London"
    assert utc(by_title["Garden yoga"]["DTSTART"]) == z("2027-07-02T09:00")  # 10:00 BST
    assert utc(by_title["Breathwork"]["DTSTART"]) == z("2027-07-02T14:00")  # 10:00 EDT
    assert len(recurring_ical_events.of(calendar).between(z("2027-07-01T00:00"), z("2027-07-08T00:00"))) == 4
    assert (await client.get(path(url), headers={"if-none-match": got.headers["etag"]})).status_code == 304

    # A staff member of one programme sees that programme only.
    await make_user("staff@example.org", "staff password 1", admin=False)
    await api.post(f"/api/programs/{ny['id']}/members", {"email": "staff@example.org", "role": "staff"}, expect=201)
    staff_id = await _user_id("staff@example.org")
    staff_url = path(feeds.user_feed_url(staff_id))
    staff_feed = await client.get(staff_url)
    assert {str(e["SUMMARY"]) for e in parse(staff_feed).walk("VEVENT")} == {"Breathwork", "Tea ceremony", "Rained off"}
    # Joining a second programme changes their feed, not the organizer's.
    await api.post(f"/api/programs/{london['id']}/members", {"email": "staff@example.org", "role": "staff"}, expect=201)
    assert (await client.get(staff_url, headers={"if-none-match": staff_feed.headers["etag"]})).status_code == 200
    assert (await client.get(path(url), headers={"if-none-match": got.headers["etag"]})).status_code == 304
    for bad in (f"/feeds/user/{staff_id}.ics?token=wrong", f"/feeds/user/{staff_id}.ics?token={url.split('token=')[1]}",
                f"/feeds/user/99999.ics?token={feed_token('user', '99999')}"):
        assert (await client.get(bad)).status_code == 404, bad


async def _user_id(email: str) -> int:
    from planner.accounts.tables import User

    return (await User.select(User.id).where(User.email == email).first())["id"]


# ---------------------------------------------------------------- the subscribe page

async def test_subscribe_page_lists_both_feeds_for_members_only(api, setup, client):
    from tests.conftest import Api, make_user

    pid = setup["program"]["id"]
    page = await client.get(f"/programs/{pid}/calendar", headers={**api.h, "accept": "text/html"})
    assert page.status_code == 200
    organizer_id = await _user_id("organizer@example.org")
    private = feeds.user_feed_url(organizer_id)
    for url in (feeds.program_feed_url(pid), feeds.program_feed_url(pid, as_webcal=True), private, feeds.webcal(private)):
        assert url.replace("&", "&amp;") in page.text, url
    assert (await client.get(path(private))).status_code == 200

    await make_user("other@example.org", "other password 1", admin=True)
    token = (await client.post("/api/auth/token", json={"email": "other@example.org", "password": "other password 1"})).json()["token"]
    other = Api(client, token)
    assert (await client.get(f"/programs/{pid}/calendar", headers={**other.h, "accept": "text/html"})).status_code == 404
    anonymous = await client.get(f"/programs/{pid}/calendar", headers={"accept": "text/html"})
    assert anonymous.status_code in (302, 303) and anonymous.headers["location"].startswith("/login")


# ---------------------------------------------------------------- HEAD, the schema, the export

async def test_feeds_and_invites_answer_head_with_the_headers_of_get(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    r = await rsvp(client, a["id"])
    for url in (f"/programs/{setup['program']['id']}/calendar.ics", path(r["invite_ics_url"]),
                path(feeds.guest_feed_url(setup["program"]["id"], r["id"], "zoe@example.org"))):
        got = await client.get(url)
        head = await client.head(url)
        assert (got.status_code, head.status_code) == (200, 200), url
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers.get("etag") == got.headers.get("etag")
        if "etag" in got.headers:
            again = await client.head(url, headers={"If-None-Match": got.headers["etag"]})
            assert again.status_code == 304
    assert (await client.head(f"/programs/{setup['program']['id'] + 999}/calendar.ics")).status_code == 404


async def test_invite_feed_and_qr_files_are_in_the_openapi_schema(client):
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for name in ("/r/{rsvp_id}/invite.ics", "/programs/{program_id}/calendar.ics", "/feeds/guest/{program_id}/{name}",
                 "/feeds/user/{name}", "/r/{rsvp_id}/qr.png", "/r/{rsvp_id}/qr.svg"):
        assert name in paths, name
        assert "get" in paths[name]
    assert "head" in paths["/programs/{program_id}/calendar.ics"]


async def test_the_guests_data_export_gives_their_own_slot_in_their_language(api, setup, client):
    slots = [{"starts_at": "2027-07-02T11:00", "ends_at": "2027-07-02T11:20"},
             {"starts_at": "2027-07-02T11:20", "ends_at": "2027-07-02T11:40"}]
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Massage", starts_at="2027-07-02T11:00",
                           ends_at="2027-07-02T14:00", slots=slots)
    r = await rsvp(client, a["id"], slot_id=a["slots"][1]["id"], language="es")
    got = await client.get(f"/api/rsvps/{r['id']}/data", params={"token": r["manage_url"].split("token=")[1]})
    [mine] = got.json()["rsvps"]
    assert mine["starts_at"] == "2027-07-02T11:20:00-04:00" and mine["ends_at"] == "2027-07-02T11:40:00-04:00"
    assert mine["when"] == ["viernes, 2 de julio de 2027, 11:20 – 11:40 EDT"]
