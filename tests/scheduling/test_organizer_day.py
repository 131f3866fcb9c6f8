"""An organizer's day through the pages: the activity form, confirmations and undo, edits and deletes,
repeating an activity, and the guest list with its sensitive answers."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from planner.audit.tables import AuditEvent
from planner.clock import utcnow
from planner.mail.render import render
from planner.mail.worker import run_once
from planner.outbox.tables import OutboxMessage
from planner.rsvps.tables import Question, Rsvp
from planner.scheduling.tables import Activity, ActivityHost, Host, Slot, Space
from planner.settings import get_settings
from tests.scheduling.test_pages import form_token, login


async def _kit(api, pid) -> dict:
    ear = (await api.post(f"/api/programs/{pid}/items", {"name": "Earplugs"}, expect=201)).json()
    return (await api.post(f"/api/programs/{pid}/kits", {"name": "Rest kit", "items": [{"item_id": ear["id"], "quantity": 1}]}, expect=201)).json()


async def test_activity_form_sets_kit_and_description_and_clears_the_deadline(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    kit = await _kit(api, pid)
    await login(client)
    page = await client.get(f"/programs/{pid}/activities/new")
    assert "Rest kit" in page.text and 'name="description"' in page.text
    tok = await form_token(client, f"/programs/{pid}/activities/new")
    form = {"_csrf_token": tok, "kind": "activation", "title": "Sound bath", "space_id": str(sid), "starts_at": "2027-07-02T14:00",
            "ends_at": "2027-07-02T15:00", "capacity": "12", "kit_id": str(kit["id"]), "description": "Gongs and bowls.",
            "rsvp_deadline": "2027-07-01T12:00", "published": "on"}
    r = await client.post(f"/programs/{pid}/activities/new", data=form)
    assert r.status_code == 303
    a = await Activity.select().first()
    assert (a["kit"], a["description"]) == (kit["id"], "Gongs and bowls.") and a["rsvp_deadline"] is not None
    schedule = await client.get(r.headers["location"])
    assert "Created “Sound bath” at 14:00" in schedule.text

    # Edit: the deadline field emptied clears it; the kit can be taken off.
    edit = {**form, "rsvp_deadline": "", "kit_id": ""}
    edit.pop("kind")
    r = await client.post(f"/activities/{a['id']}/edit", data=edit)
    assert r.status_code == 303
    a = await Activity.select().first()
    assert a["rsvp_deadline"] is None and a["kit"] is None and a["description"] == "Gongs and bowls."

    # Guests see the description on the public pages.
    assert "Gongs and bowls." in (await client.get(f"/a/{a['id']}")).text
    assert "Gongs and bowls." in (await client.get(f"/p/{pid}")).text


async def test_activity_form_errors_name_the_field_as_labelled(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    await login(client)
    tok = await form_token(client, f"/programs/{pid}/activities/new")
    r = await client.post(f"/programs/{pid}/activities/new", data={
        "_csrf_token": tok, "kind": "activation", "title": "Yoga", "space_id": str(sid),
        "starts_at": "2027-07-02T14:00", "ends_at": "2027-07-02T15:00", "capacity": ""})
    assert r.status_code == 400 and "Seats is required." in r.text and "capacity is required" not in r.text
    r = await client.post(f"/programs/{pid}/activities/new", data={
        "_csrf_token": tok, "kind": "activation", "title": "Yoga", "space_id": str(sid),
        "starts_at": "soon", "ends_at": "2027-07-02T15:00", "capacity": "3"})
    assert r.status_code == 400 and "Starts must be" in r.text
    assert await Activity.count() == 0


async def test_space_names_are_unique_per_programme(api, setup, client):
    pid = setup["program"]["id"]
    r = await api.post(f"/api/programs/{pid}/spaces", {"name": "wellness TENT", "capacity": 5})
    assert r.status_code == 409 and "already has a space called" in r.json()["detail"]
    other = await api.program(name="Another festival")
    await api.post(f"/api/programs/{other['id']}/spaces", {"name": "Wellness tent", "capacity": 5}, expect=201)
    # Two at once with one new name: exactly one is made.
    results = await asyncio.gather(*[api.post(f"/api/programs/{pid}/spaces", {"name": "Quiet room", "capacity": 5}) for _ in range(4)])
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409]
    assert await Space.count().where(Space.program == pid) == 2
    # Renaming onto another space's name through the page is refused with the sentence.
    await login(client)
    quiet = await Space.select().where(Space.name == "Quiet room").first()
    tok = await form_token(client, f"/spaces/{quiet['id']}/edit")
    r = await client.post(f"/spaces/{quiet['id']}/edit", data={"_csrf_token": tok, "name": "Wellness Tent", "capacity": "5"})
    assert r.status_code == 409 and "already has a space called" in r.text
    assert (await Space.select(Space.name).where(Space.id == quiet["id"]).first())["name"] == "Quiet room"


async def test_space_and_host_deletes_say_what_they_affect(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    host = (await api.post(f"/api/programs/{pid}/hosts", {"name": "Jonah Reyes"}, expect=201)).json()
    a = await api.activity(pid, sid, host_ids=[host["id"]])
    empty = await api.space(pid, name="Spare room")
    await login(client)
    tok = await form_token(client, f"/spaces/{sid}/edit")
    # The first post shows what would happen; the space in use cannot go.
    r = await client.post(f"/spaces/{sid}/delete", data={"_csrf_token": tok})
    assert r.status_code == 200 and "1 activities use this space" in r.text.replace("activity uses", "activities use")
    r = await client.post(f"/spaces/{sid}/delete", data={"_csrf_token": tok, "confirmed": "yes"})
    assert r.status_code == 409 and await Space.count().where(Space.id == sid) == 1
    r = await client.post(f"/spaces/{empty['id']}/delete", data={"_csrf_token": tok, "confirmed": "yes"})
    assert r.status_code == 303 and await Space.count().where(Space.id == empty["id"]) == 0
    # A host: the page names the activities that go on without them; then the host is gone from them.
    r = await client.post(f"/hosts/{host['id']}/delete", data={"_csrf_token": tok})
    assert r.status_code == 200 and "Breathwork" in r.text and await Host.count() == 1
    r = await client.post(f"/hosts/{host['id']}/delete", data={"_csrf_token": tok, "confirmed": "yes"})
    assert r.status_code == 303 and await Host.count() == 0
    assert await ActivityHost.count().where(ActivityHost.activity == a["id"]) == 0


async def test_cancel_activity_is_confirmed_and_can_be_undone_before_the_mails_leave(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, capacity=5)
    for n in range(3):
        await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"Guest {n}", "email": f"g{n}@example.org"})
    await run_once(get_settings(), now=utcnow())  # the confirmations go out (logged: no SMTP host)
    await login(client)
    tok = await form_token(client, f"/activities/{a['id']}/manage")
    # One click does not cancel: it leads to the confirmation, which says who will be e-mailed.
    r = await client.post(f"/activities/{a['id']}/manage/cancel", data={"_csrf_token": tok})
    assert r.status_code == 303 and r.headers["location"] == f"/activities/{a['id']}/confirm/cancel"
    assert (await Activity.select(Activity.cancelled_at).first())["cancelled_at"] is None
    confirm = await client.get(r.headers["location"])
    assert "3 guests will be e-mailed" in confirm.text and "60 seconds" in confirm.text

    r = await client.post(f"/activities/{a['id']}/manage/cancel", data={"_csrf_token": tok, "confirmed": "yes", "reason": "Storm"})
    assert r.status_code == 303
    assert (await Activity.select(Activity.cancelled_at).first())["cancelled_at"] is not None
    manage = await client.get(f"/activities/{a['id']}/manage")
    assert "Undo the cancellation" in manage.text
    held = OutboxMessage.kind == "activity_cancelled"
    assert await OutboxMessage.count().where(held) == 3
    # The worker leaves them alone inside the window.
    assert (await run_once(get_settings(), now=utcnow()))["logged"] == 0
    r = await client.post(f"/activities/{a['id']}/manage/undo", data={"_csrf_token": tok})
    assert r.status_code == 303 and "m=undo" in r.headers["location"]
    assert (await Activity.select(Activity.cancelled_at).first())["cancelled_at"] is None
    assert await OutboxMessage.count().where(held) == 0
    assert "on again" in (await client.get(r.headers["location"])).text

    # Cancelled again and the window passes: the e-mails leave and undo is refused, honestly.
    await client.post(f"/activities/{a['id']}/manage/cancel", data={"_csrf_token": tok, "confirmed": "yes"})
    assert (await run_once(get_settings(), now=utcnow() + timedelta(seconds=61)))["logged"] == 3
    r = await client.post(f"/activities/{a['id']}/manage/undo", data={"_csrf_token": tok})
    assert "Too+late" in r.headers["location"] or "Too%20late" in r.headers["location"]
    assert (await Activity.select(Activity.cancelled_at).first())["cancelled_at"] is not None


async def test_remove_guest_is_confirmed_and_the_guest_is_not_told_they_cancelled(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1)
    ana = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben", "email": "ben@example.org"})
    await login(client)
    tok = await form_token(client, f"/activities/{a['id']}/manage")
    r = await client.post(f"/activities/{a['id']}/manage/remove", data={"_csrf_token": tok, "rsvp_id": str(ana["id"])})
    assert r.status_code == 303 and "/confirm/remove" in r.headers["location"]
    page = await client.get(r.headers["location"])
    assert "ana@example.org will be e-mailed" in page.text and "next person on the waitlist" in page.text
    assert (await Rsvp.select(Rsvp.status).where(Rsvp.id == ana["id"]).first())["status"] == "confirmed"
    r = await client.post(f"/activities/{a['id']}/manage/remove", data={"_csrf_token": tok, "rsvp_id": str(ana["id"]), "confirmed": "yes",
                                                                        "reason": "Double booking"})
    assert r.status_code == 303
    statuses = {x["name"]: x["status"] for x in await Rsvp.select(Rsvp.name, Rsvp.status)}
    assert statuses == {"Ana": "cancelled", "Ben": "confirmed"}
    guest = await client.get(ana["manage_url"].replace("http://testserver.local", ""))
    assert "The organizers removed this place" in guest.text and "You cancelled" not in guest.text
    assert "Book again" not in guest.text and "Double booking" in guest.text
    row = await OutboxMessage.select().where((OutboxMessage.rsvp == ana["id"]) & (OutboxMessage.kind == "cancelled")).first()
    mail = await render(row)
    assert "The organizers removed your place. Double booking" in mail.text and "If this was a mistake" not in mail.text


async def test_repeat_an_activity_on_other_days(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, slot_minutes=20, capacity=1, title="Chair massage")
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org", "slot_id": a["slots"][0]["id"]})
    await Question.insert(Question(activity=a["id"], label="Anything we should know?", kind="text"))
    blocker = await api.activity(pid, sid, title="Yoga", starts_at="2027-07-05T10:30", ends_at="2027-07-05T11:30")
    await login(client)
    tok = await form_token(client, f"/activities/{a['id']}/duplicate")
    # A clash on one of the days refuses the lot, naming it.
    r = await client.post(f"/activities/{a['id']}/duplicate", data={"_csrf_token": tok, "days": ["2027-07-03", "2027-07-05"]})
    assert r.status_code == 409 and "Yoga" in r.text and await Activity.count() == 2
    r = await client.post(f"/activities/{a['id']}/duplicate", data={"_csrf_token": tok, "days": ["2027-07-03", "2027-07-04"]})
    assert r.status_code == 303 and "copied=2" in r.headers["location"]
    copies = await Activity.select().where((Activity.title == "Chair massage") & (Activity.id != a["id"])).order_by(Activity.starts_at)
    assert len(copies) == 2
    for c in copies:
        assert await Slot.count().where(Slot.activity == c["id"]) == 3
        assert await Rsvp.count().where(Rsvp.activity == c["id"]) == 0
        assert await Question.count().where(Question.activity == c["id"]) == 1
    assert blocker["title"] == "Yoga"


async def test_guest_list_shows_sensitive_answers_marked_and_audited(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=4, max_guests=1, slot_minutes=30)
    await login(client)
    tok = await form_token(client, f"/activities/{a['id']}/manage")
    await client.post(f"/activities/{a['id']}/manage/question", data={"_csrf_token": tok, "label": "Dietary needs", "kind": "text",
                                                                      "sensitive": "on", "per_guest": "on"})
    q = await Question.select().first()
    r = await client.post(f"/a/{a['id']}", data={"_csrf_token": tok, "name": "Ana", "email": "ana@example.org", "guests": "1",
                                                 "slot_id": str(a["slots"][1]["id"]), f"q{q['id']}": "Vegan", f"pq{q['id']}_1": "Nut allergy"})
    assert r.status_code == 303
    row = await Rsvp.select(Rsvp.answers, Rsvp.slot).first()
    assert row["slot"] == a["slots"][1]["id"]
    before = await AuditEvent.count().where(AuditEvent.action == "sensitive_viewed")
    page = await client.get(f"/activities/{a['id']}/manage")
    assert "Vegan" in page.text and "Nut allergy" in page.text and "Plus-one 1" in page.text
    assert "sensitive-mark" in page.text and "10:30–11:00" in page.text and "not yet" in page.text
    assert await AuditEvent.count().where(AuditEvent.action == "sensitive_viewed") == before + 1


async def test_items_and_resources_delete_only_what_nothing_needs(api, setup, client):
    from planner.inventory.tables import Item
    from planner.resources.tables import SupportResource

    pid = setup["program"]["id"]
    spare = (await api.post(f"/api/programs/{pid}/items", {"name": "Spare pens"}, expect=201)).json()
    kit = await _kit(api, pid)  # made of Earplugs
    ear = await Item.select().where(Item.name == "Earplugs").first()
    await login(client)
    tok = await form_token(client, f"/items/{spare['id']}/edit")
    r = await client.post(f"/items/{ear['id']}/delete", data={"_csrf_token": tok})
    assert r.status_code == 200 and f"part of the kit {kit['name']}" in r.text
    r = await client.post(f"/items/{ear['id']}/delete", data={"_csrf_token": tok, "confirmed": "yes"})
    assert r.status_code == 409 and await Item.count().where(Item.id == ear["id"]) == 1
    r = await client.post(f"/items/{spare['id']}/delete", data={"_csrf_token": tok, "confirmed": "yes"})
    assert r.status_code == 303 and await Item.count().where(Item.id == spare["id"]) == 0
    r = await client.post(f"/items/{kit['id']}/edit", data={"_csrf_token": tok, "name": "Sleep kit", "low_stock_at": "5"})
    assert r.status_code == 303 and (await Item.select(Item.name).where(Item.id == kit["id"]).first())["name"] == "Sleep kit"

    lines = await SupportResource.select().where(SupportResource.program == pid)
    emergency = next(x for x in lines if x["kind"] == "emergency")
    other = next(x for x in lines if x["kind"] != "emergency")
    for row in (emergency, other):
        await client.post(f"/programs/{pid}/resources", data={"_csrf_token": tok, "resource_id": str(row["id"]), "delete": "yes"})
    left = {x["id"] for x in await SupportResource.select(SupportResource.id).where(SupportResource.program == pid)}
    assert emergency["id"] in left and other["id"] not in left
