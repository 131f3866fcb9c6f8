"""Every invite kind and every feed, read by independent clients: ical.js, vobject, icalendar.

A London programme around both of its 2027 changes: both passes of the repeated hour
(01:30 BST and 01:30 GMT on 31 October), the skipped hour (28 March), an event across
each change, a slotted booking, a residency across the fall-back with one shorter day,
and an invite-only dinner. Each client must read each instant exactly as the API gives it.
"""
from __future__ import annotations

from datetime import UTC, datetime

from planner.accounts.tables import User
from planner.calendar import feeds
from tests.calendar.clients import icaljs, window, with_icalendar, with_vobject

BASE = "http://testserver.local"
LONDON = "Europe/London"


def path(url: str) -> str:
    return url[len(BASE):] if url.startswith(BASE) else url


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def span(slot: dict) -> tuple[datetime, datetime]:
    return instant(slot["starts_at"]), instant(slot["ends_at"])


async def london(api, client) -> dict:
    """The programme, its activities (as the API gives them) and an RSVP on each."""
    p = await api.program(name="Thames Sessions 2027", timezone=LONDON, country="GB",
                          starts_on="2027-03-27", ends_on="2027-11-03")
    plans = {
        "first pass": dict(starts_at="2027-10-31T00:30:00Z", ends_at="2027-10-31T00:50:00Z"),
        "second pass": dict(starts_at="2027-10-31T01:30:00Z", ends_at="2027-10-31T01:50:00Z"),
        "across the fall-back": dict(starts_at="2027-10-30T23:30:00Z", ends_at="2027-10-31T03:00:00Z"),
        "the skipped hour": dict(starts_at="2027-03-28T01:30", ends_at="2027-03-28T03:00"),
        "across the spring change": dict(starts_at="2027-03-28T00:30:00Z", ends_at="2027-03-28T02:00:00Z"),
        "massage slots": dict(starts_at="2027-07-02T10:00", ends_at="2027-07-02T11:00", slots=[
            {"starts_at": "2027-07-02T10:00", "ends_at": "2027-07-02T10:20"},
            {"starts_at": "2027-07-02T10:20", "ends_at": "2027-07-02T10:40"},
            {"starts_at": "2027-07-02T10:40", "ends_at": "2027-07-02T11:00"},
        ]),
        "residency": dict(kind="residency", rsvp_mode="apply", starts_at="2027-10-29T10:00", ends_at="2027-11-02T14:00",
                          slots=[{"starts_at": f"2027-{d}T{'11:00' if d == '10-31' else '10:00'}",
                                  "ends_at": f"2027-{d}T{'12:30' if d == '10-31' else '14:00'}"}
                                 for d in ("10-29", "10-30", "10-31", "11-01", "11-02")]),
        "dinner": dict(kind="dinner", rsvp_mode="invite", starts_at="2027-10-30T19:00", ends_at="2027-10-30T22:00"),
    }
    activities, rsvps = {}, {}
    for i, (name, plan) in enumerate(plans.items()):
        space = await api.space(p["id"], f"Room {i}")
        a = await api.activity(p["id"], space["id"], title=f"Yoga: {name}", capacity=5, **plan)
        activities[name] = a
        body = {"name": "Ada Lovelace", "email": "ada@example.org"}
        if name == "massage slots":
            body["slot_id"] = a["slots"][1]["id"]
        if name == "dinner":
            code = (await api.post(f"/api/activities/{a['id']}/invitations", {"name": "Ada", "email": "ada@example.org"},
                                   expect=201)).json()["invite_code"]
            body["invite_code"] = code
        r = await client.post(f"/api/activities/{a['id']}/rsvps", json=body)
        assert r.status_code == 201, r.text
        rsvps[name] = r.json()
        if name == "residency":
            await api.post(f"/api/rsvps/{rsvps[name]['id']}/approve", expect=200)
    return {"program": p, "activities": activities, "rsvps": rsvps}


async def current_slots(api, program_id: int) -> dict[int, dict]:
    """Every slot of the programme as the API gives it now, by activity id."""
    listed = (await api.get(f"/api/programs/{program_id}/activities", expect=200)).json()
    return {a["id"]: a for a in listed}


def expected_invite(activity: dict, rsvp: dict) -> list[tuple]:
    uid = f"rsvp-{rsvp['id']}@testserver.local"
    slots = activity["slots"] if activity["kind"] == "residency" else [
        s for s in activity["slots"] if s["id"] == rsvp["slot_id"]]
    return sorted((uid, *span(s)) for s in slots)


def assert_clients_agree(folder, named: dict[str, tuple[bytes, list[tuple], str | None]]) -> None:
    """Each calendar through ical.js, vobject and icalendar: METHOD and every occurrence as expected."""
    names = list(named)
    by_icaljs = dict(zip(names, icaljs(folder, [named[n][0] for n in names])))
    for name in names:
        text, expected, method = named[name]
        assert expected, name
        for reader, got in (
            ("ical.js", by_icaljs[name]),
            ("vobject", with_vobject(text)),
            ("icalendar", with_icalendar(text, window(expected))),
        ):
            assert got["method"] == method, (name, reader, got["method"])
            assert got["events"] == expected, (name, reader, got["events"], expected)


async def test_every_invite_reads_the_same_instants_in_icaljs_vobject_and_icalendar(api, client, icaljs):
    setup = await london(api, client)
    program, activities, rsvps = setup["program"], setup["activities"], setup["rsvps"]
    # The booking is the guest's own 20-minute slot, not the activity's hour.
    assert rsvps["massage slots"]["slot_id"] == activities["massage slots"]["slots"][1]["id"]
    named = {}
    for name, r in rsvps.items():
        got = await client.get(path(r["invite_ics_url"]))
        assert got.status_code == 200, (name, got.text)
        named[f"request: {name}"] = (got.content, expected_invite(activities[name], r), "REQUEST")

    # An update (moved within the repeated hour's second pass), a guest's cancel, an organizer's cancel.
    moved = activities["second pass"]
    await api.patch(f"/api/activities/{moved['id']}", {"starts_at": "2027-10-31T01:10:00Z", "ends_at": "2027-10-31T01:40:00Z"},
                    expect=200)
    token = rsvps["across the spring change"]["manage_url"].split("token=")[1]
    assert (await client.post(f"/api/rsvps/{rsvps['across the spring change']['id']}/cancel",
                              params={"token": token})).status_code == 200
    await api.post(f"/api/activities/{activities['residency']['id']}/cancel", {"reason": "Flood"}, expect=200)
    now = await current_slots(api, program["id"])
    for name, method in (("second pass", "REQUEST"), ("across the spring change", "CANCEL"), ("residency", "CANCEL")):
        r = rsvps[name]
        got = await client.get(path(r["invite_ics_url"]))
        assert got.headers["content-type"].endswith(f"method={method}")
        slot_id = (await client.get(f"/api/rsvps/{r['id']}", params={"token": r["manage_url"].split("token=")[1]})).json()["slot_id"]
        named[f"{method.lower()} after change: {name}"] = (
            got.content, expected_invite(now[activities[name]["id"]], {**r, "slot_id": slot_id}), method)
    assert span(now[moved["id"]]["slots"][0]) == (instant("2027-10-31T01:10:00Z"), instant("2027-10-31T01:40:00Z"))
    assert_clients_agree(icaljs, named)


async def test_every_feed_reads_the_same_instants_in_icaljs_vobject_and_icalendar(api, client, icaljs):
    setup = await london(api, client)
    program, activities, rsvps = setup["program"], setup["activities"], setup["rsvps"]
    await api.post(f"/api/activities/{activities['the skipped hour']['id']}/cancel", {"reason": "Rain"}, expect=200)
    now = await current_slots(api, program["id"])

    def slots_of(names) -> list[tuple]:
        return sorted((f"slot-{s['id']}@testserver.local", *span(s))
                      for n in names for s in now[activities[n]["id"]]["slots"])

    every = list(activities)
    public = [n for n in every if n != "the skipped hour"]
    # The guest's feed: their confirmed places (their own slot; every residency day).
    mine = []
    for name in public:
        a, r = now[activities[name]["id"]], rsvps[name]
        slots = a["slots"] if a["kind"] == "residency" else [s for s in a["slots"] if s["id"] == r["slot_id"]]
        mine += [(f"slot-{s['id']}@testserver.local", *span(s)) for s in slots]
    user = await User.select(User.id).where(User.email == "organizer@example.org").first()
    guest_url = feeds.guest_feed_url(program["id"], rsvps["dinner"]["id"], "ada@example.org")
    named = {}
    for name, url, expected in (
        ("public", f"/programs/{program['id']}/calendar.ics", slots_of(public)),
        ("guest", path(guest_url), sorted(mine)),
        ("organizer", path(feeds.user_feed_url(user["id"])), slots_of(every)),
    ):
        got = await client.get(url)
        assert got.status_code == 200, (name, got.text)
        assert b"X-WR-TIMEZONE" not in got.content
        named[name] = (got.content, expected, "PUBLISH")
    assert_clients_agree(icaljs, named)
