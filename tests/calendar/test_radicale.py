"""A real CalDAV server (Radicale, which validates with vobject) stores every invite and update as one object per UID."""
from __future__ import annotations

import subprocess
import sys
import time

import httpx
import icalendar
import pytest

from tests.calendar.clients import window, with_icalendar
from tests.calendar.test_clients import expected_invite, london, path
from tests.mail.smtp import free_port

CALENDAR = "/ada/festival/"


@pytest.fixture
def radicale(tmp_path):
    port = free_port()
    config = tmp_path / "radicale.conf"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n"
        f"[storage]\nfilesystem_folder = {tmp_path / 'collections'}\n[rights]\ntype = owner_only\n"
        "[logging]\nlevel = warning\n"
    )
    proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, auth=("ada", "x"), timeout=10) as dav:
            made = dav.request("MKCALENDAR", CALENDAR)
            assert made.status_code == 201, made.text
            yield dav
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def uids(data: bytes) -> set[str]:
    return {str(e["UID"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def put(dav: httpx.Client, data: bytes) -> int:
    """Store the invite as a calendar client does: one resource per UID, named after it."""
    [uid] = uids(data)  # one iTIP message, one UID
    # A stored calendar object carries no METHOD (RFC 4791 4.1); clients drop it when they file an invite.
    stored = b"".join(line for line in data.splitlines(keepends=True) if not line.startswith(b"METHOD:"))
    answer = dav.put(f"{CALENDAR}{uid}.ics", content=stored, headers={"Content-Type": "text/calendar; charset=utf-8"})
    return answer.status_code


async def test_radicale_stores_every_invite_and_update_as_one_object_per_uid(api, client, radicale):
    setup = await london(api, client)
    activities, rsvps = setup["activities"], setup["rsvps"]
    for name, r in rsvps.items():
        got = await client.get(path(r["invite_ics_url"]))
        assert put(radicale, got.content) == 201, name

    # Each update replaces the same object (204), and what the server then holds is what the API says.
    moved = activities["second pass"]
    await api.patch(f"/api/activities/{moved['id']}", {"starts_at": "2027-10-31T01:05:00Z", "ends_at": "2027-10-31T01:45:00Z"},
                    expect=200)
    resi = activities["residency"]
    await api.patch(f"/api/activities/{resi['id']}", {"title": "Residency, new studio"}, expect=200)
    listed = {a["id"]: a for a in (await api.get(f"/api/programs/{setup['program']['id']}/activities", expect=200)).json()}
    for name in ("second pass", "residency"):
        r = rsvps[name]
        got = await client.get(path(r["invite_ics_url"]))
        assert put(radicale, got.content) == 204, name
        [uid] = uids(got.content)
        stored = radicale.get(f"{CALENDAR}{uid}.ics")
        assert stored.status_code == 200
        assert uids(stored.content) == {uid}
        expected = expected_invite(listed[activities[name]["id"]], r)
        assert with_icalendar(stored.content, window(expected))["events"] == expected
        event = icalendar.Calendar.from_ical(stored.content).walk("VEVENT")[0]
        assert str(event["SUMMARY"]) == listed[activities[name]["id"]]["title"]

    # A CANCEL (the guest's own, and the organizer's of a whole residency) replaces the same object too:
    # the stored event is cancelled, with a higher SEQUENCE, at the same instants.
    token = rsvps["dinner"]["manage_url"].split("token=")[1]
    assert (await client.post(f"/api/rsvps/{rsvps['dinner']['id']}/cancel", params={"token": token})).status_code == 200
    await api.post(f"/api/activities/{resi['id']}/cancel", {"reason": "Flood"}, expect=200)
    for name in ("dinner", "residency"):
        r = rsvps[name]
        [uid] = uids((await client.get(path(r["invite_ics_url"]))).content)
        before = icalendar.Calendar.from_ical(radicale.get(f"{CALENDAR}{uid}.ics").content).walk("VEVENT")[0]
        got = await client.get(path(r["invite_ics_url"]))
        assert got.headers["content-type"].endswith("method=CANCEL")
        assert put(radicale, got.content) == 204, name
        stored = radicale.get(f"{CALENDAR}{uid}.ics").content
        assert uids(stored) == {uid}
        events = icalendar.Calendar.from_ical(stored).walk("VEVENT")
        assert {str(e["STATUS"]) for e in events} == {"CANCELLED"}
        assert int(events[0]["SEQUENCE"]) > int(before["SEQUENCE"])
        expected = expected_invite(listed[activities[name]["id"]], r)
        assert with_icalendar(stored, window(expected))["events"] == expected

    # The collection holds exactly one object per RSVP.
    listing = radicale.request("PROPFIND", CALENDAR, headers={"Depth": "1"})
    assert listing.text.count(".ics</") == len(rsvps)

    # An invite with two UIDs is what the server refuses: the old residency shape.
    two = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
           b"BEGIN:VEVENT\r\nUID:a@x\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270101T100000Z\r\nEND:VEVENT\r\n"
           b"BEGIN:VEVENT\r\nUID:b@x\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270102T100000Z\r\nEND:VEVENT\r\n"
           b"END:VCALENDAR\r\n")
    assert radicale.put(f"{CALENDAR}two.ics", content=two, headers={"Content-Type": "text/calendar"}).status_code == 400
