"""The programme page's forms, through the real app with a logged-in session."""
import re

from planner.programs.tables import Membership
from planner.scheduling.tables import Host, HostUnavailability, Space
from tests.conftest import make_user


async def login(client) -> None:
    await client.get("/login")
    await client.post("/login", data={"email": "organizer@example.org", "password": "correct horse battery", "next": "/",
                                      "_csrf_token": client.cookies.get("csrftoken")})


async def form_token(client, url) -> str:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def test_programme_page_forms_add_and_refuse(api, setup, client):
    pid = setup["program"]["id"]
    await login(client)
    tok = await form_token(client, f"/programs/{pid}")
    r = await client.post(f"/programs/{pid}/spaces", data={"_csrf_token": tok, "name": "Quiet room", "capacity": "12"})
    assert r.status_code == 303 and await Space.count().where(Space.name == "Quiet room") == 1
    r = await client.post(f"/programs/{pid}/spaces", data={"_csrf_token": tok, "name": "Bad", "capacity": "0"})
    assert r.status_code == 400 and "Capacity" in r.text and await Space.count().where(Space.name == "Bad") == 0
    r = await client.post(f"/programs/{pid}/hosts", data={"_csrf_token": tok, "name": "Dr. Ama Mensah", "email": ""})
    assert r.status_code == 303
    host = await Host.select(Host.id).first()
    r = await client.post(f"/programs/{pid}/unavailability", data={"_csrf_token": tok, "host_id": str(host["id"]),
                          "starts_at": "2027-07-03T09:00", "ends_at": "2027-07-03T12:00", "note": "travel"})
    assert r.status_code == 303 and await HostUnavailability.count() == 1
    r = await client.post(f"/programs/{pid}/unavailability", data={"_csrf_token": tok, "host_id": "x",
                          "starts_at": "2027-07-03T09:00", "ends_at": "2027-07-03T12:00"})
    assert r.status_code == 404 and await HostUnavailability.count() == 1
    await make_user("crew@example.org", admin=False)
    r = await client.post(f"/programs/{pid}/members", data={"_csrf_token": tok, "email": "crew@example.org", "role": "staff"})
    assert r.status_code == 303 and await Membership.count().where(Membership.role == "staff") == 1
    r = await client.post(f"/programs/{pid}/members", data={"_csrf_token": tok, "email": "ghost@example.org", "role": "staff"})
    assert r.status_code == 404 and "no account" in r.text
