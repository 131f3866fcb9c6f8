"""A guest's answers after the first: declining an invitation, changing their mind, booking again; the
public pages' seats and the slot picker."""
from __future__ import annotations

import asyncio
import re

from planner.rsvps.seats import counters_match_rows
from planner.rsvps.tables import Invitation, Rsvp
from planner.scheduling.tables import Slot


def path(url: str) -> str:
    return url.replace("http://testserver.local", "")


async def csrf(client, url: str) -> str:
    page = await client.get(url)
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def test_invitee_declines_then_changes_their_mind(api, setup, client):
    d = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="dinner", rsvp_mode="invite", capacity=8, max_guests=1,
                           title="Songwriter dinner", starts_at="2027-07-03T19:00", ends_at="2027-07-03T21:00")
    inv = (await api.post(f"/api/activities/{d['id']}/invitations", {"name": "Cleo Park", "email": "cleo@example.org"}, expect=201)).json()
    invite_page = path(inv["url"])
    page = await client.get(invite_page)
    assert "No, I can" in page.text and "Cleo Park, will you come?" in page.text
    tok = await csrf(client, invite_page)
    r = await client.post(f"/a/{d['id']}/decline", data={"_csrf_token": tok, "invite": inv["invite_code"]})
    assert r.status_code == 303 and r.headers["location"].startswith("/r/")
    row = await Rsvp.select().first()
    assert (row["status"], row["cancelled_by"], row["name"]) == ("declined", "guest", "Cleo Park")
    assert (await Slot.select(Slot.confirmed).where(Slot.activity == d["id"]).first())["confirmed"] == 0
    guest = await client.get(r.headers["location"])
    assert "You said you can" in guest.text and "Changed your mind?" in guest.text
    # Declining twice changes nothing; the organizer sees the answer.
    await client.post(f"/a/{d['id']}/decline", data={"_csrf_token": tok, "invite": inv["invite_code"]})
    assert await Rsvp.count() == 1
    listed = (await api.get(f"/api/activities/{d['id']}/rsvps", expect=200)).json()
    assert [x["status"] for x in listed] == ["declined"]

    # Reopening the invitation shows the answer given (the guest's page), not an empty form.
    again = await client.get(invite_page)
    assert again.status_code == 303 and again.headers["location"].startswith(f"/r/{row['id']}?token=")
    # Changing the answer: the form again, and yes replaces the no.
    change = await client.get(invite_page + "&change=1")
    assert change.status_code == 200 and "will you come?" in change.text
    r = await client.post(f"/a/{d['id']}", data={"_csrf_token": tok, "invite": inv["invite_code"], "name": "Cleo Park",
                                                 "email": "cleo@example.org", "guests": "1"})
    assert r.status_code == 303
    rows = await Rsvp.select(Rsvp.status, Rsvp.guests)
    assert rows == [{"status": "confirmed", "guests": 1}]
    assert (await Slot.select(Slot.confirmed).where(Slot.activity == d["id"]).first())["confirmed"] == 2
    assert (await Invitation.select(Invitation.used).first())["used"] is True


async def test_guest_cancels_with_confirmation_and_books_again(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1)
    ana = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()
    page = path(ana["manage_url"])
    rid = ana["id"]
    token = ana["manage_url"].split("token=")[1]
    confirm = await client.get(f"/r/{rid}/cancel?token={token}")
    assert confirm.status_code == 200 and "Cancel your place?" in confirm.text and "Keep it" in confirm.text
    tok = await csrf(client, page)
    r = await client.post(f"/r/{rid}/cancel?token={token}", data={"_csrf_token": tok})
    assert r.status_code == 303
    text = (await client.get(page)).text
    assert "You cancelled your place" in text and "Book again" in text and "/p/" in text

    # Meanwhile Ben takes the seat: Ana's rebooking puts her on the waitlist, and the page says what happens next.
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben", "email": "ben@example.org"})
    r = await client.post(f"/r/{rid}/rebook?token={token}", data={"_csrf_token": tok})
    assert r.status_code == 303
    assert (await Rsvp.select(Rsvp.status).where(Rsvp.id == rid).first())["status"] == "waitlisted"
    text = (await client.get(page)).text
    assert "What happens next" in text and "Leave the waitlist" in text
    assert await counters_match_rows(a["slots"][0]["id"])


async def test_rebook_races_never_overfill_the_slot(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=2)
    people = []
    for n in range(4):
        out = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"G{n}", "email": f"g{n}@example.org"})).json()
        people.append(out)
    for p in people[:2]:
        await client.post(f"/api/rsvps/{p['id']}/cancel", params={"token": p["manage_url"].split("token=")[1]})
    # Two promoted from the waitlist hold the seats; the two who left try to come back at once.
    tok = await csrf(client, path(people[0]["manage_url"]))
    await asyncio.gather(*[client.post(f"/r/{p['id']}/rebook?token={p['manage_url'].split('token=')[1]}", data={"_csrf_token": tok})
                           for p in people[:2]])
    slot = await Slot.select().where(Slot.activity == a["id"]).first()
    assert slot["confirmed"] == 2 and slot["waiting"] == 2
    assert await counters_match_rows(slot["id"])


async def test_application_wording_and_withdrawal(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="residency", rsvp_mode="apply", capacity=3,
                           starts_at="2027-07-02T10:00", ends_at="2027-07-04T16:00")
    app = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()
    page = (await client.get(path(app["manage_url"]))).text
    assert "Withdraw my application" in page and "Cancel my place" not in page
    token = app["manage_url"].split("token=")[1]
    assert "Withdraw your application?" in (await client.get(f"/r/{app['id']}/cancel?token={token}")).text


async def test_public_pages_show_seats_and_open_the_picker_on_the_first_free_slot(api, setup, client):
    pid = (await api.program(name="Bilingual festival", languages=["en", "es"]))["id"]
    space = await api.space(pid)
    host = (await api.post(f"/api/programs/{pid}/hosts", {"name": "Ana Sofía Delgado"}, expect=201)).json()
    a = await api.activity(pid, space["id"], slot_minutes=20, capacity=1, title="Chair massage", host_ids=[host["id"]],
                           description="A clothed chair massage.")
    first, second = a["slots"][0], a["slots"][1]
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben", "email": "ben@example.org", "slot_id": first["id"]})
    page = (await client.get(f"/a/{a['id']}")).text
    assert "2 seats left" in page and "Ana Sofía Delgado" in page and "A clothed chair massage." in page
    selected = re.search(r'<option value="(\d+)" selected>([^<]*)</option>', page)
    assert int(selected.group(1)) == second["id"] and "1 place free" in selected.group(2)
    assert re.search(rf'<option value="{first["id"]}" >[^<]*full, waitlist', page)
    prog = (await client.get(f"/p/{pid}?lang=es")).text
    assert "Chair massage" in prog and 'hreflang="es"' in prog and "988" in prog
    assert prog.index("988") < prog.index("Chair massage")  # the crisis line comes first
    only_dinners = (await client.get(f"/p/{pid}?kind=dinner")).text
    assert "Chair massage" not in only_dinners
