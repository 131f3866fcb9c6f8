"""Deleting a programme: organizers only, after typing its name, never while guests of an activity still to
come have not been told; everything in it goes, the audit line stays."""
from __future__ import annotations

import re

from planner.audit.tables import AuditEvent
from planner.programs.tables import Membership, Program
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Activity, Slot, Space
from tests.conftest import Api, make_user
from tests.scheduling.test_pages import login


async def _guest(client, activity_id: int, n: int) -> dict:
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": f"Guest {n}", "email": f"g{n}@example.org"})
    assert r.status_code == 201, r.text
    return r.json()


async def test_delete_needs_the_name_and_cancelled_activities_first(api, setup, client):
    pid = setup["program"]["id"]
    a = await api.activity(pid, setup["space"]["id"], published=True)
    await _guest(client, a["id"], 1)
    other = await api.program(name="Another festival")
    # The wrong name changes nothing.
    r = await client.delete(f"/api/programs/{pid}", params={"confirm": "Riverside"}, headers=api.h)
    assert r.status_code == 400 and "name" in r.json()["detail"]
    # An activity still to come has a guest: cancel it first, so they are told.
    r = await client.delete(f"/api/programs/{pid}", params={"confirm": setup["program"]["name"]}, headers=api.h)
    assert r.status_code == 409 and "cancel" in r.json()["detail"]
    assert await Program.exists().where(Program.id == pid)
    await api.post(f"/api/activities/{a['id']}/cancel", {"reason": "Storm"}, expect=200)
    r = await client.delete(f"/api/programs/{pid}", params={"confirm": setup["program"]["name"]}, headers=api.h)
    assert r.status_code == 204, r.text
    for table, col in ((Program, Program.id), (Space, Space.program), (Activity, Activity.program), (Slot, Slot.program),
                       (Rsvp, Rsvp.program), (Membership, Membership.program)):
        assert not await table.exists().where(col == pid), table
    assert await Program.exists().where(Program.id == other["id"])  # the other programme stays whole
    line = await AuditEvent.select().where(AuditEvent.action == "program_deleted").first()
    assert line["program"] == pid and line["subject"] == setup["program"]["name"]


async def test_delete_in_the_browser_pages(api, setup, client):
    pid = setup["program"]["id"]
    await api.activity(pid, setup["space"]["id"])
    await login(client)
    page = await client.get(f"/programs/{pid}/delete")
    assert page.status_code == 200 and "1 activity is deleted" in page.text and "cannot be undone" in page.text
    assert "0 stock items and their history are deleted" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    wrong = await client.post(f"/programs/{pid}/delete", data={"_csrf_token": token, "confirm_name": "nope"})
    assert wrong.status_code == 400 and "exactly" in wrong.text
    done = await client.post(f"/programs/{pid}/delete", data={"_csrf_token": token, "confirm_name": setup["program"]["name"]},
                             follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/?m=program_deleted"
    home = await client.get("/?m=program_deleted")
    assert "The programme was deleted." in home.text
    assert not await Program.exists().where(Program.id == pid)


async def test_staff_cannot_delete(api, setup, client):
    pid = setup["program"]["id"]
    await make_user("staff@example.org", admin=False)
    await api.post(f"/api/programs/{pid}/members", {"email": "staff@example.org", "role": "staff"}, expect=201)
    token = (await client.post("/api/auth/token", json={"email": "staff@example.org", "password": "correct horse battery"})).json()["token"]
    staff = Api(client, token)
    r = await client.delete(f"/api/programs/{pid}", params={"confirm": setup["program"]["name"]}, headers=staff.h)
    assert r.status_code == 403
    assert await Program.exists().where(Program.id == pid)
