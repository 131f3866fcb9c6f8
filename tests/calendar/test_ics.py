"""The iCalendar generator, read back with icalendar and recurring_ical_events."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from icalendar.parser import unescape_backslash

from planner.calendar.ics import (
    FeedEvent,
    Invite,
    InviteEvent,
    build_feed,
    build_invite,
    invite_description,
    rsvp_slot_uid,
    rsvp_uid,
    slot_uid,
)
from planner.calendar.when import format_span

NOW = datetime(2026, 5, 1, 9, 15, 27, tzinfo=UTC)
NEW_YORK = "America/New_York"
AWKWARD = 'Zoë, Ólafur; "Björk"\nline2 \\ back^slash'
START = datetime(2026, 7, 3, 16, 0, tzinfo=UTC)


def make_invite(events: list[InviteEvent], **changes) -> Invite:
    values = dict(
        method="REQUEST",
        sequence=0,
        organizer_email="care@fest.example",
        organizer_name="Care team, Summer Fest",
        attendee_email="zoe@example.org",
        attendee_name="Zoë Ólafsdóttir",
        timezone=NEW_YORK,
        events=events,
        now=NOW,
        url="https://fest.example/r/tok123",
    )
    values.update(changes)
    return Invite(**values)


def make_event(slot_id: int = 7, starts_at: datetime = START, minutes: int = 60, **changes) -> InviteEvent:
    values = dict(
        uid=rsvp_slot_uid(41, slot_id, "fest.example"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        title="Sound bath",
        location="Wellness tent, 1 Park Ave, New York",
        description="Bring water.",
    )
    values.update(changes)
    return InviteEvent(**values)


def feed_event(slot_id: int, **changes) -> FeedEvent:
    starts_at = START + timedelta(hours=slot_id)
    values = dict(
        uid=slot_uid(slot_id, "fest.example"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=45),
        title=f"Yoga {slot_id}",
        location="Wellness tent, 1 Park Ave, New York",
        description="Open to all artists and crew.",
        url="https://fest.example/a/1",
    )
    values.update(changes)
    return FeedEvent(**values)

def parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def vevents(data: bytes) -> list[icalendar.Event]:
    return parse(data).walk("VEVENT")


def expand(data: bytes, start: datetime, end: datetime) -> list[icalendar.Event]:
    return recurring_ical_events.of(parse(data)).between(start, end)


def utc(value) -> datetime:
    return value.dt.astimezone(UTC) if hasattr(value, "dt") else value.astimezone(UTC)


def test_invite_request_parses_with_every_itip_property():
    event = make_event()
    data = build_invite(make_invite([event], sequence=3))

    calendar = parse(data)
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    [vevent] = calendar.walk("VEVENT")
    assert vevent["UID"] == "rsvp-41-slot-7@fest.example"
    assert vevent["SEQUENCE"] == 3
    assert vevent["DTSTAMP"].dt == NOW
    assert utc(vevent["DTSTART"]) == START
    assert utc(vevent["DTEND"]) == START + timedelta(hours=1)
    assert str(vevent["DTSTART"].dt.tzinfo) == NEW_YORK
    assert vevent["SUMMARY"] == "Sound bath"
    assert vevent["LOCATION"] == "Wellness tent, 1 Park Ave, New York"
    assert vevent["DESCRIPTION"] == "Bring water."
    assert vevent["URL"] == "https://fest.example/r/tok123"
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent["ORGANIZER"] == "mailto:care@fest.example"
    assert vevent["ORGANIZER"].params["CN"] == "Care team, Summer Fest"
    attendee = vevent["ATTENDEE"]
    assert attendee == "mailto:zoe@example.org"
    assert dict(attendee.params) == {
        "CN": "Zoë Ólafsdóttir",
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "ACCEPTED",
        "RSVP": "FALSE",
    }
    [alarm] = vevent.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(hours=-1)
    assert alarm["DESCRIPTION"] == "Sound bath"

    [occurrence] = expand(data, START - timedelta(days=1), START + timedelta(days=1))
    assert utc(occurrence["DTSTART"]) == START


def test_invite_reminder_follows_input_and_can_be_left_out():
    event = make_event()
    data = build_invite(make_invite([event], reminder=timedelta(minutes=90)))
    [alarm] = vevents(data)[0].walk("VALARM")
    assert alarm["TRIGGER"].dt == timedelta(minutes=-90)
    assert b"TRIGGER:-PT1H30M\r\n" in data

    data = build_invite(make_invite([event], reminder=timedelta(days=1)))
    assert b"TRIGGER:-P1D\r\n" in data

    data = build_invite(make_invite([event], reminder=None))
    assert vevents(data)[0].walk("VALARM") == []


def test_invite_cancel_has_method_cancel_status_cancelled_and_no_alarm():
    events = [make_event(7), make_event(7, START + timedelta(days=1), minutes=30)]
    request = vevents(build_invite(make_invite(events, sequence=1)))
    data = build_invite(make_invite(events, method="CANCEL", sequence=2))

    calendar = parse(data)
    assert calendar["METHOD"] == "CANCEL"
    cancelled = calendar.walk("VEVENT")
    assert [e["UID"] for e in cancelled] == [e["UID"] for e in request]
    for vevent in cancelled:
        assert vevent["STATUS"] == "CANCELLED"
        assert vevent["SEQUENCE"] == 2
        assert vevent["ATTENDEE"].params["PARTSTAT"] == "DECLINED"
        assert vevent.walk("VALARM") == []
    assert b"METHOD:CANCEL\r\n" in data
    assert data.count(b"STATUS:CANCELLED\r\n") == 2


def test_invite_uid_stays_stable_and_sequence_follows_input():
    first = vevents(build_invite(make_invite([make_event()], sequence=0)))[0]
    moved = make_event(starts_at=START + timedelta(hours=2), title="Sound bath (moved)")
    second = vevents(build_invite(make_invite([moved], sequence=5, now=NOW + timedelta(days=3))))[0]

    assert first["UID"] == second["UID"] == "rsvp-41-slot-7@fest.example"
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (0, 5)
    assert second["DTSTAMP"].dt == NOW + timedelta(days=3)
    assert utc(second["DTSTART"]) == START + timedelta(hours=2)


def test_invite_for_a_residency_is_one_event_with_its_days_as_rdates():
    days = [make_event(100, START + timedelta(days=day), minutes=240) for day in range(5)]
    data = build_invite(make_invite(days))

    calendar = parse(data)
    [master] = calendar.walk("VEVENT")
    assert len(calendar.walk("VTIMEZONE")) == 1
    assert master["UID"] == "rsvp-41-slot-100@fest.example"
    unfolded = data.replace(b"\r\n ", b"")
    assert b"RDATE;TZID=America/New_York:20260703T120000,20260704T120000,20260705T120000,20260706T120000,20260707T120000\r\n" in unfolded
    occurrences = expand(data, START - timedelta(days=1), START + timedelta(days=10))
    assert sorted(utc(o["DTSTART"]) for o in occurrences) == [START + timedelta(days=d) for d in range(5)]
    assert {utc(o["DTEND"]) - utc(o["DTSTART"]) for o in occurrences} == {timedelta(hours=4)}


def test_a_residency_day_of_another_length_is_a_recurrence_id_override():
    days = [make_event(100, START + timedelta(days=day), minutes=240) for day in range(3)]
    days[1] = make_event(100, START + timedelta(days=1, hours=1), minutes=90)
    data = build_invite(make_invite(days))
    master, override = vevents(data)
    assert master["UID"] == override["UID"]
    assert utc(override["RECURRENCE-ID"]) == START + timedelta(days=1, hours=1)
    assert utc(override["DTEND"]) - utc(override["DTSTART"]) == timedelta(minutes=90)
    occurrences = expand(data, START - timedelta(days=1), START + timedelta(days=10))
    assert sorted((utc(o["DTSTART"]), utc(o["DTEND"])) for o in occurrences) == [
        (d.starts_at, d.ends_at) for d in days]


def test_an_invite_about_two_uids_is_refused():
    with pytest.raises(ValueError):
        build_invite(make_invite([make_event(1), make_event(2, START + timedelta(days=1))]))


def test_invite_without_events_or_with_naive_times_is_refused():
    with pytest.raises(ValueError):
        build_invite(make_invite([]))
    with pytest.raises(ValueError):
        build_invite(make_invite([make_event(starts_at=datetime(2026, 7, 3, 16, 0))]))
    with pytest.raises(ValueError):
        build_invite(make_invite([make_event()], method="PUBLISH"))
    with pytest.raises(ValueError):
        build_invite(make_invite([make_event()], now=datetime(2026, 5, 1)))


# 2026-03-08: New York springs forward at 02:00 EST; 2026-11-01: falls back at 02:00 EDT,
# so 01:00-02:00 local happens twice (first EDT, 05:xxZ; then EST, 06:xxZ).
# Each case: start, minutes, and whether it touches the repeated hour's second pass.
DST_CASES = {
    # 01:30 EST -> 03:30 EDT
    "before the spring gap, ending after it": (datetime(2026, 3, 8, 6, 30, tzinfo=UTC), 60, False),
    # 03:00 EDT -> 03:30 EDT
    "just after spring forward": (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), 30, False),
    # 01:30 EDT -> 01:30 EST
    "01:30 on fall-back night, first pass": (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), 60, True),
    # 01:30 EST -> 02:30 EST
    "01:30 on fall-back night, after fallback": (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), 60, True),
    # 01:00 EDT -> 03:00 EST
    "across the fallback": (datetime(2026, 11, 1, 5, 0, tzinfo=UTC), 180, False),
}


def dst_feed(starts_at: datetime, ends_at: datetime) -> bytes:
    event = FeedEvent(uid=slot_uid(1, "fest.example"), starts_at=starts_at, ends_at=ends_at, title="Night yoga")
    return build_feed("Fall fest", NEW_YORK, [event], NOW)


@pytest.mark.parametrize("starts_at, minutes, repeated_hour", DST_CASES.values(), ids=DST_CASES.keys())
def test_times_land_at_the_right_instant_across_a_daylight_saving_change(starts_at, minutes, repeated_hour):
    ends_at = starts_at + timedelta(minutes=minutes)
    invite = build_invite(make_invite([make_event(starts_at=starts_at, minutes=minutes)]))
    feed = dst_feed(starts_at, ends_at)

    for data in (invite, feed):
        [vevent] = vevents(data)
        assert (utc(vevent["DTSTART"]), utc(vevent["DTEND"])) == (starts_at, ends_at)
    for data in (invite, feed):
        [occurrence] = expand(data, starts_at - timedelta(days=1), starts_at + timedelta(days=1))
        assert (utc(occurrence["DTSTART"]), utc(occurrence["DTEND"])) == (starts_at, ends_at)


def test_recurring_ical_events_expands_the_feeds_repeated_hour():
    # With an X-WR-TIMEZONE this reader moved UTC times into it and lost which 01:30 it was;
    # the feed carries none.
    starts_at = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    data = dst_feed(starts_at, starts_at + timedelta(hours=1))
    [occurrence] = expand(data, starts_at - timedelta(days=1), starts_at + timedelta(days=1))
    assert utc(occurrence["DTSTART"]) == starts_at


def test_local_times_are_written_with_the_programme_tzid():
    data = build_invite(make_invite([make_event(starts_at=datetime(2026, 3, 8, 6, 30, tzinfo=UTC))]))
    assert b"DTSTART;TZID=America/New_York:20260308T013000\r\n" in data
    assert b"DTEND;TZID=America/New_York:20260308T033000\r\n" in data


def test_both_passes_of_the_repeated_hour_are_written_in_utc():
    # A TZID local time in the repeated hour is read as the first pass by RFC 5545 and
    # icalendar, as the second by ical.js and vobject: only UTC means the same to all.
    data = build_invite(make_invite([make_event(starts_at=datetime(2026, 11, 1, 6, 30, tzinfo=UTC))]))
    assert b"DTSTART:20261101T063000Z\r\nDTEND:20261101T073000Z\r\n" in data
    data = build_invite(make_invite([make_event(starts_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC))]))
    assert b"DTSTART:20261101T053000Z\r\nDTEND:20261101T063000Z\r\n" in data
    # Ending at 01:30 EDT (the first pass) is as ambiguous as starting there.
    data = build_invite(make_invite([make_event(starts_at=datetime(2026, 11, 1, 4, 30, tzinfo=UTC))]))
    assert b"DTSTART:20261101T043000Z\r\nDTEND:20261101T053000Z\r\n" in data
    data = build_invite(make_invite([make_event(starts_at=datetime(2026, 11, 1, 3, 30, tzinfo=UTC))]))
    assert b"DTSTART;TZID=America/New_York:20261031T233000\r\nDTEND;TZID=America/New_York:20261101T003000\r\n" in data


def test_vtimezone_is_present_once_with_the_tzid_used():
    for data in (
        build_invite(make_invite([make_event(1), make_event(1, START + timedelta(days=200))])),
        build_feed("Summer fest", NEW_YORK, [feed_event(i) for i in range(3)], NOW),
        build_feed("Empty fest", NEW_YORK, [], NOW),
    ):
        calendar = parse(data)
        [vtimezone] = calendar.walk("VTIMEZONE")
        assert vtimezone["TZID"] == NEW_YORK
        for vevent in calendar.walk("VEVENT"):
            assert vevent["DTSTART"].params["TZID"] == NEW_YORK
            assert vevent["DTEND"].params["TZID"] == NEW_YORK
        assert calendar.get_missing_tzids() == set()
        assert data.index(b"BEGIN:VTIMEZONE") < data.find(b"BEGIN:VEVENT") or b"BEGIN:VEVENT" not in data


def test_vtimezone_covers_events_in_later_years():
    late = make_event(starts_at=datetime(2029, 7, 3, 16, 0, tzinfo=UTC))
    [vtimezone] = parse(build_invite(make_invite([make_event(), late]))).walk("VTIMEZONE")
    # The zone a client builds from the VTIMEZONE alone must agree with zoneinfo in every year.
    tz = vtimezone.to_tz()
    for year in (2026, 2027, 2028, 2029):
        assert datetime(year, 7, 3, 12, 0, tzinfo=tz).utcoffset() == timedelta(hours=-4)
        assert datetime(year, 1, 3, 12, 0, tzinfo=tz).utcoffset() == timedelta(hours=-5)


def test_text_with_commas_semicolons_newlines_and_non_ascii_round_trips():
    event = make_event(title=AWKWARD, location=AWKWARD, description=AWKWARD + "\r\nwindows\rmac")
    data = build_invite(make_invite([event], organizer_name=AWKWARD, attendee_name=AWKWARD))
    [vevent] = vevents(data)
    assert vevent["SUMMARY"] == AWKWARD
    assert vevent["LOCATION"] == AWKWARD
    assert vevent["DESCRIPTION"] == AWKWARD + "\nwindows\nmac"
    assert vevent["ORGANIZER"].params["CN"] == AWKWARD
    assert vevent["ATTENDEE"].params["CN"] == AWKWARD
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"

    feed = build_feed(AWKWARD, NEW_YORK, [feed_event(1, title=AWKWARD, description=AWKWARD)], NOW)
    calendar = parse(feed)
    # icalendar leaves X- properties raw; clients read X-WR-CALNAME as TEXT, as we write it.
    assert unescape_backslash(str(calendar["X-WR-CALNAME"])) == AWKWARD
    [vevent] = calendar.walk("VEVENT")
    assert (vevent["SUMMARY"], vevent["DESCRIPTION"]) == (AWKWARD, AWKWARD)


def test_control_characters_cannot_inject_properties():
    event = make_event(title="Yoga\r\nATTENDEE:mailto:evil@example.org\x00\x1b")
    data = build_invite(make_invite([event], attendee_name="Eve\r\nX-EVIL:1", url="https://x/\r\nX-EVIL:2"))
    [vevent] = vevents(data)
    assert vevent["SUMMARY"] == "Yoga\nATTENDEE:mailto:evil@example.org"
    assert vevent["ATTENDEE"] == "mailto:zoe@example.org"
    assert "X-EVIL" not in vevent


def test_every_line_is_at_most_75_octets_and_ends_with_crlf():
    long = "Ólafur’s songwriting circle 🎸 " * 20
    invite = build_invite(make_invite([make_event(title=long, description=long, location=long)], attendee_name=long))
    feed = build_feed(long, NEW_YORK, [feed_event(i, title=long, description="x" * 300) for i in range(3)], NOW)

    for data in (invite, feed):
        assert data.endswith(b"\r\n")
        lines = data.split(b"\r\n")[:-1]
        assert len(lines) > 40
        for line in lines:
            assert len(line) <= 75, line
            assert b"\r" not in line and b"\n" not in line
            line.decode("utf-8")  # folding never splits a character
        assert any(len(line) == 75 for line in lines)
    assert vevents(invite)[0]["SUMMARY"] == long


def test_feed_has_one_vevent_per_slot_and_no_attendee_data():
    events = [feed_event(i) for i in range(4)] + [feed_event(9, status="CANCELLED", sequence=2)]
    data = build_feed("Summer fest 2026", NEW_YORK, events, NOW)

    calendar = parse(data)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == "Summer fest 2026"
    assert "X-WR-TIMEZONE" not in calendar
    vevent_list = calendar.walk("VEVENT")
    assert [e["UID"] for e in vevent_list] == [f"slot-{i}@fest.example" for i in (0, 1, 2, 3, 9)]
    assert [e["STATUS"] for e in vevent_list] == ["CONFIRMED"] * 4 + ["CANCELLED"]
    assert [e["SEQUENCE"] for e in vevent_list] == [0, 0, 0, 0, 2]
    for vevent in vevent_list:
        assert "ATTENDEE" not in vevent and "ORGANIZER" not in vevent
        assert vevent["DTSTAMP"].dt == NOW
        assert vevent["URL"] == "https://fest.example/a/1"
    assert b"mailto:" not in data
    occurrences = expand(data, START - timedelta(days=1), START + timedelta(days=30))
    assert len(occurrences) == 5


def test_feed_matches_icalendars_own_object_model():
    # The hand-written lines must mean what icalendar's serialiser would have written.
    events = [feed_event(i, title=AWKWARD, location=f"Tent {i}; Lot B, 2 Main St") for i in range(20)]
    ours = parse(build_feed("Summer fest", NEW_YORK, events, NOW))

    reference = icalendar.Calendar()
    reference.add("prodid", "-//reference//EN")
    reference.add("version", "2.0")
    for event in events:
        vevent = icalendar.Event()
        vevent.add("uid", event.uid)
        vevent.add("dtstamp", NOW)
        vevent.add("dtstart", event.starts_at.astimezone(ZoneInfo(NEW_YORK)))
        vevent.add("dtend", event.ends_at.astimezone(ZoneInfo(NEW_YORK)))
        vevent.add("summary", event.title)
        vevent.add("location", event.location)
        vevent.add("description", event.description)
        vevent.add("url", event.url)
        vevent.add("status", event.status)
        reference.add_component(vevent)
    reference.add_missing_timezones()
    theirs = parse(reference.to_ical())

    def facts(calendar):
        return [
            (
                str(e["UID"]), utc(e["DTSTART"]), utc(e["DTEND"]), e["DTSTART"].params["TZID"],
                str(e["SUMMARY"]), str(e["LOCATION"]), str(e["DESCRIPTION"]), str(e["URL"]), str(e["STATUS"]),
            )
            for e in calendar.walk("VEVENT")
        ]

    assert facts(ours) == facts(theirs)


def test_feed_of_2000_activities_builds_quickly():
    description = "What to bring: a towel\n" * 3
    events = [feed_event(i, title=f"Massage, slot {i}; Zoë", description=description) for i in range(2000)]
    build_feed("warm up", NEW_YORK, events[:1], NOW)

    started = time.perf_counter()
    data = build_feed("Summer fest", NEW_YORK, events, NOW)
    elapsed = time.perf_counter() - started

    print(f"\n2,000-event feed: {elapsed * 1000:.1f} ms, {len(data) / 1024:.0f} KiB")
    assert elapsed < 2  # a sanity bound only; measured ~30 ms
    assert data.count(b"BEGIN:VEVENT") == 2000
    assert data.count(b"BEGIN:VTIMEZONE") == 1


def test_invite_description_lists_what_to_bring_the_guest_page_and_support():
    resources = [
        {
            "name": "988 Suicide & Crisis Lifeline",
            "phone": "988",
            "sms": "988",
            "url": "https://988lifeline.org",
            "hours": "24/7",
        },
        {"name": "Backline", "phone": None, "sms": None, "url": "https://backline.care", "hours": None},
        {"name": "Emergency services", "phone": "911"},
    ]
    text = invite_description("Earplugs, a water bottle", "https://fest.example/r/tok123", resources)
    assert text == (
        "What to bring: Earplugs, a water bottle\n"
        "\n"
        "Your page (see, change or cancel): https://fest.example/r/tok123\n"
        "\n"
        "Support, if you need it:\n"
        "- 988 Suicide & Crisis Lifeline: call 988, text 988, https://988lifeline.org (24/7)\n"
        "- Backline: https://backline.care\n"
        "- Emergency services: call 911"
    )
    assert invite_description("", "https://fest.example/r/tok123", []) == (
        "Your page (see, change or cancel): https://fest.example/r/tok123"
    )

    data = build_invite(make_invite([make_event(description=text)]))
    assert vevents(data)[0]["DESCRIPTION"] == text


def test_feed_events_in_another_zone_are_written_in_it_with_their_own_vtimezone():
    # A user's feed spans programmes: New York's events, and London's in London time.
    london = feed_event(2, timezone="Europe/London", starts_at=datetime(2026, 7, 3, 9, 0, tzinfo=UTC),
                        ends_at=datetime(2026, 7, 3, 10, 0, tzinfo=UTC))
    data = build_feed("Mine", NEW_YORK, [feed_event(1), london], NOW)

    calendar = parse(data)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == [NEW_YORK, "Europe/London"]
    assert calendar.get_missing_tzids() == set()
    ny_event, london_event = calendar.walk("VEVENT")
    assert ny_event["DTSTART"].params["TZID"] == NEW_YORK
    assert b"DTSTART;TZID=Europe/London:20260703T100000\r\n" in data
    assert utc(london_event["DTSTART"]) == datetime(2026, 7, 3, 9, 0, tzinfo=UTC)
    occurrences = expand(data, START - timedelta(days=1), START + timedelta(days=1))
    assert sorted(utc(o["DTSTART"]) for o in occurrences) == [datetime(2026, 7, 3, 9, 0, tzinfo=UTC), START + timedelta(hours=1)]


def test_a_one_event_invite_uid_names_the_rsvp_alone():
    assert rsvp_uid(41, "fest.example") == "rsvp-41@fest.example"
    assert rsvp_uid(41, "fest.example") != rsvp_slot_uid(41, 7, "fest.example")


def test_vtimezone_onsets_are_the_local_time_before_each_change():
    # RFC 5545 3.6.5: DTSTART of an onset is local time in TZOFFSETFROM. New York springs
    # forward at 02:00 EST and falls back at 02:00 EDT; London changes at 01:00 GMT and 02:00 BST.
    data = build_invite(make_invite([make_event(starts_at=datetime(2027, 7, 3, 16, 0, tzinfo=UTC))]))
    assert b"BEGIN:DAYLIGHT\r\nDTSTART:20270314T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n" in data
    assert b"BEGIN:STANDARD\r\nDTSTART:20271107T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n" in data
    london = build_invite(make_invite([make_event(starts_at=datetime(2027, 7, 3, 16, 0, tzinfo=UTC))],
                                      timezone="Europe/London"))
    assert b"BEGIN:DAYLIGHT\r\nDTSTART:20270328T010000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\n" in london
    assert b"BEGIN:STANDARD\r\nDTSTART:20271031T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\n" in london
    # A zone without changes still gets its one standard time.
    tokyo = build_invite(make_invite([make_event()], timezone="Asia/Tokyo"))
    assert b"TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\n" in tokyo


def test_mail_text_tells_the_two_passes_of_a_repeated_hour_apart():
    first = format_span(datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2027, 10, 31, 0, 50, tzinfo=UTC),
                        "Europe/London", "en-GB")
    second = format_span(datetime(2027, 10, 31, 1, 30, tzinfo=UTC), datetime(2027, 10, 31, 1, 50, tzinfo=UTC),
                         "Europe/London", "en-GB")
    assert first == "Sunday, 31 October 2027, 01:30 – 01:50 BST (UTC+1)"
    assert second == "Sunday, 31 October 2027, 01:30 – 01:50 GMT (UTC+0)"
    summer = format_span(datetime(2027, 7, 2, 9, 0, tzinfo=UTC), datetime(2027, 7, 2, 9, 20, tzinfo=UTC),
                         "Europe/London", "es")
    assert summer == "viernes, 2 de julio de 2027, 10:00 – 10:20 BST"
