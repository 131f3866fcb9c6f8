"""The team: invitations by email, roles, removal that ends access at once, the last organizer,
password reset by email, the admin's restore, and the audit trail of each."""
from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import timedelta

import pytest

from planner.accounts import links
from planner.accounts.tables import AccountLink, User, UserSession
from planner.audit.tables import AuditEvent
from planner.clock import utcnow
from planner.mail.worker import run_once
from planner.programs.tables import Membership
from planner.settings import get_settings
from tests.accounts.helpers import PASSWORD, client_from, form_token, login, token_for
from tests.conftest import Api, make_user
from tests.mail.smtp import start


@pytest.fixture
def smtp():
    ctl, inbox = start()
    yield ctl, inbox
    ctl.stop()


async def _deliver(port: int) -> None:
    s = dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
    while any((await run_once(s)).values()):
        pass


def _text(msg) -> str:
    return next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()


def _link(msg) -> str:
    return re.search(r"http://testserver\.local(/account/set-password\?token=\S+)", _text(msg)).group(1)


async def _member(api, program_id, email, role="staff") -> dict:
    await make_user(email, admin=False)
    return (await api.post(f"/api/programs/{program_id}/members", {"email": email, "role": role}, expect=201)).json()


async def test_member_removal_ends_access_at_once_pages_and_api(app, api, setup, client):
    pid = setup["program"]["id"]
    staff = await _member(api, pid, "crew@example.org")
    async with client_from(app, "198.51.100.20") as browser:
        await login(browser, "crew@example.org")
        bearer = Api(browser, await token_for(browser, "crew@example.org"))
        assert (await browser.get(f"/programs/{pid}", headers={"Accept": "text/html"})).status_code == 200
        assert (await bearer.get(f"/api/programs/{pid}")).status_code == 200
        r = await client.delete(f"/api/programs/{pid}/members/{staff['user_id']}", headers=api.h)
        assert r.status_code == 204
        # The very next request, with the same session and the same token, is refused.
        assert (await browser.get(f"/programs/{pid}", headers={"Accept": "text/html"})).status_code == 404
        assert (await browser.get("/scan", headers={"Accept": "text/html"})).text.count(setup["program"]["name"]) == 0
        assert (await bearer.get(f"/api/programs/{pid}")).status_code == 404
        assert (await bearer.get(f"/api/programs/{pid}/activities")).status_code == 404
    assert await Membership.count().where(Membership.user == staff["user_id"]) == 0
    ev = await AuditEvent.select().where(AuditEvent.action == "member_removed").first()
    assert ev["program"] == pid and ev["subject"] == "crew@example.org" and ev["actor_label"] == "organizer@example.org"
    assert (await client.delete(f"/api/programs/{pid}/members/{staff['user_id']}", headers=api.h)).status_code == 404


async def test_the_last_organizer_cannot_be_removed_or_demoted(api, setup, client):
    pid = setup["program"]["id"]
    me = (await User.select(User.id).where(User.email == "organizer@example.org").first())["id"]
    r = await client.delete(f"/api/programs/{pid}/members/{me}", headers=api.h)
    assert r.status_code == 409 and "last organizer" in r.json()["detail"]
    r = await api.patch(f"/api/programs/{pid}/members/{me}", {"role": "staff"})
    assert r.status_code == 409 and "Make someone else an organizer first" in r.json()["detail"]
    r = await api.post(f"/api/programs/{pid}/members", {"email": "organizer@example.org", "role": "staff"})
    assert r.status_code == 409
    assert await Membership.count().where((Membership.program == pid) & (Membership.role == "organizer")) == 1
    # With a second organizer, stepping down is fine; the other is then the last one.
    other = await _member(api, pid, "second@example.org", role="organizer")
    await api.patch(f"/api/programs/{pid}/members/{me}", {"role": "staff"}, expect=200)
    second = Api(client, await token_for(client, "second@example.org"))
    r = await client.delete(f"/api/programs/{pid}/members/{other['user_id']}", headers=second.h)
    assert r.status_code == 409
    assert await AuditEvent.count().where(AuditEvent.action == "role_changed") == 1


async def test_two_organizers_removing_each_other_at_once_leave_one(api, setup, client):
    pid = setup["program"]["id"]
    me = (await User.select(User.id).where(User.email == "organizer@example.org").first())["id"]
    other = await _member(api, pid, "second@example.org", role="organizer")
    second = Api(client, await token_for(client, "second@example.org"))
    results = await asyncio.gather(client.delete(f"/api/programs/{pid}/members/{other['user_id']}", headers=api.h),
                                   client.delete(f"/api/programs/{pid}/members/{me}", headers=second.h))
    assert sorted(r.status_code for r in results) in ([204, 409], [204, 404], [204, 403])
    assert await Membership.count().where((Membership.program == pid) & (Membership.role == "organizer")) == 1


async def test_two_organizers_demoting_each_other_at_once_leave_one(api, setup, client):
    pid = setup["program"]["id"]
    me = (await User.select(User.id).where(User.email == "organizer@example.org").first())["id"]
    other = await _member(api, pid, "second@example.org", role="organizer")
    second = Api(client, await token_for(client, "second@example.org"))
    results = await asyncio.gather(api.patch(f"/api/programs/{pid}/members/{other['user_id']}", {"role": "staff"}),
                                   second.patch(f"/api/programs/{pid}/members/{me}", {"role": "staff"}))
    assert sorted(r.status_code for r in results) in ([200, 409], [200, 403])
    assert await Membership.count().where((Membership.program == pid) & (Membership.role == "organizer")) == 1


async def test_staff_cannot_remove_members(api, setup, client):
    pid = setup["program"]["id"]
    await _member(api, pid, "crew@example.org")
    me = (await User.select(User.id).where(User.email == "organizer@example.org").first())["id"]
    crew = Api(client, await token_for(client, "crew@example.org"))
    r = await client.delete(f"/api/programs/{pid}/members/{me}", headers=crew.h)
    assert r.status_code == 403
    assert await Membership.count().where(Membership.program == pid) == 2


async def test_invite_by_email_end_to_end(app, api, setup, client, smtp):
    ctl, inbox = smtp
    pid = setup["program"]["id"]
    await login(client)
    tok = await form_token(client, f"/programs/{pid}/team")
    r = await client.post(f"/programs/{pid}/team/invite", data={"_csrf_token": tok, "email": "New.Person@Example.org", "role": "staff"})
    assert r.status_code == 303 and r.headers["location"].endswith("m=invite")
    team = await client.get(f"/programs/{pid}/team")
    assert "new.person@example.org" in team.text and "invited, no password yet" in team.text
    assert "planner user add" not in team.text
    await _deliver(ctl.port)
    [msg] = inbox.to("new.person@example.org")
    link = _link(msg)
    assert "Riverside Festival 2027" in msg["Subject"]
    # Nobody can log in with the account before the link is used.
    async with client_from(app, "198.51.100.30") as newcomer:
        assert (await newcomer.post("/api/auth/token", json={"email": "new.person@example.org", "password": "!"})).status_code == 401
        page = await newcomer.get(link)
        assert page.status_code == 200 and "choose your password" in page.text
        tok = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        token = link.split("token=", 1)[1]
        r = await newcomer.post("/account/set-password", data={"_csrf_token": tok, "token": token,
                                                              "password": "my own passphrase", "password2": "my own passphrase"})
        assert r.status_code == 303, r.text
        assert (await newcomer.get(f"/programs/{pid}", headers={"Accept": "text/html"})).status_code == 200
        # The link worked once.
        assert (await newcomer.get(link)).status_code == 404
        r = await newcomer.post("/account/set-password", data={"_csrf_token": tok, "token": token,
                                                              "password": "another passphrase", "password2": "another passphrase"})
        assert r.status_code == 404
    assert (await client.post("/api/auth/token", json={"email": "new.person@example.org", "password": "my own passphrase"})).status_code == 201
    assert await AuditEvent.count().where(AuditEvent.action == "member_invited") == 1
    # Only the link's hash is kept.
    assert token not in str(await AccountLink.select())


async def test_inviting_an_existing_account_just_adds_the_membership(api, setup, client, smtp):
    ctl, inbox = smtp
    pid = setup["program"]["id"]
    await make_user("known@example.org", admin=False)
    before = (await User.select(User.password_hash).where(User.email == "known@example.org").first())["password_hash"]
    r = await api.post(f"/api/programs/{pid}/members/invite", {"email": "known@example.org", "role": "organizer"}, expect=201)
    assert r.json()["invited"] is False
    assert (await User.select(User.password_hash).where(User.email == "known@example.org").first())["password_hash"] == before
    assert await AccountLink.count() == 0
    await _deliver(ctl.port)
    [msg] = inbox.to("known@example.org")
    assert "set-password" not in _text(msg) and "/login" in _text(msg)
    assert await Membership.count().where((Membership.program == pid) & (Membership.role == "organizer")) == 2


async def test_password_reset_by_email_ends_other_sessions(app, client, smtp):
    ctl, inbox = smtp
    await make_user()
    async with client_from(app, "198.51.100.2") as laptop, client_from(app, "198.51.100.3") as phone:
        await login(laptop)
        assert (await laptop.get("/api/programs")).status_code == 200
        tok = await form_token(phone, "/account/reset")
        r = await phone.post("/account/reset", data={"_csrf_token": tok, "email": "organizer@example.org"})
        assert r.status_code == 200 and "on its way" in r.text
        # An unknown address gets the same answer and no mail.
        r = await phone.post("/account/reset", data={"_csrf_token": tok, "email": "nobody@example.org"})
        assert r.status_code == 200 and "on its way" in r.text
        await _deliver(ctl.port)
        assert len(inbox.messages) == 1
        link = _link(inbox.to("organizer@example.org")[0])
        token = link.split("token=", 1)[1]
        page = await phone.get(link)
        assert page.status_code == 200
        r = await phone.post("/account/set-password", data={"_csrf_token": tok, "token": token,
                                                           "password": "short", "password2": "short"})
        assert r.status_code == 400 and "at least 8 characters" in r.text
        r = await phone.post("/account/set-password", data={"_csrf_token": tok, "token": token,
                                                           "password": "reset passphrase", "password2": "reset passphrase"})
        assert r.status_code == 303
        assert (await laptop.get("/api/programs")).status_code == 401  # the other session ended
        assert (await phone.get("/api/programs")).status_code == 200
        assert (await phone.get(link)).status_code == 404  # one time only
    assert await UserSession.count() == 1
    assert (await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": PASSWORD})).status_code == 401
    assert (await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": "reset passphrase"})).status_code == 201


async def test_reset_link_expires(app, client):
    user = await make_user()
    secret = await links.create_link(user["id"], "reset", now=utcnow() - timedelta(hours=2))
    assert (await client.get("/account/set-password", params={"token": secret})).status_code == 404
    fresh = await links.create_link(user["id"], "reset", now=utcnow())
    assert (await client.get("/account/set-password", params={"token": fresh})).status_code == 200


async def test_the_admin_restores_an_organizer_to_an_orphaned_programme(api, setup, client):
    pid = setup["program"]["id"]
    await make_user("lead@example.org", admin=False)
    boss = await make_user("boss@example.org", admin=True)
    await Membership.delete().where(Membership.program == pid)  # e.g. the organizer's account was deleted
    admin = Api(client, await token_for(client, "boss@example.org"))
    lead = Api(client, await token_for(client, "lead@example.org"))
    r = await lead.post(f"/api/programs/{pid}/organizers", {"email": "lead@example.org"})
    assert r.status_code == 403
    await admin.post(f"/api/programs/{pid}/organizers", {"email": "lead@example.org"}, expect=201)
    assert (await lead.get(f"/api/programs/{pid}")).status_code == 200
    ev = await AuditEvent.select().where(AuditEvent.action == "organizer_restored").first()
    assert ev["actor"] == boss["id"] and ev["subject"] == "lead@example.org"


async def test_audit_page_shows_the_programmes_events_to_organizers_only(app, api, setup, client):
    pid = setup["program"]["id"]
    staff = await _member(api, pid, "crew@example.org")
    await api.patch(f"/api/programs/{pid}/members/{staff['user_id']}", {"role": "organizer"}, expect=200)
    await login(client)
    page = await client.get(f"/programs/{pid}/audit")
    assert page.status_code == 200 and "Changed a role" in page.text and "crew@example.org" in page.text
    events = (await api.get(f"/api/programs/{pid}/audit", expect=200)).json()
    assert [e["action"] for e in events] == ["role_changed", "member_added"]
    await api.patch(f"/api/programs/{pid}/members/{staff['user_id']}", {"role": "staff"}, expect=200)
    async with client_from(app, "198.51.100.20") as crew:
        await login(crew, "crew@example.org")
        assert (await crew.get(f"/programs/{pid}/audit", headers={"Accept": "text/html"})).status_code == 403
        assert (await crew.get(f"/api/programs/{pid}/audit")).status_code == 403


async def test_the_team_page_removes_members_and_keeps_the_last_organizer(app, api, setup, client):
    """The same rules through the page's own forms: remove someone, then try to remove or demote the last organizer."""
    pid = setup["program"]["id"]
    staff = await _member(api, pid, "crew@example.org")
    me = (await User.select(User.id).where(User.email == "organizer@example.org").first())["id"]
    async with client_from(app, "198.51.100.20") as crew:
        await login(crew, "crew@example.org")
        assert (await crew.get(f"/programs/{pid}", headers={"Accept": "text/html"})).status_code == 200
        await login(client)
        tok = await form_token(client, f"/programs/{pid}/team")
        r = await client.post(f"/programs/{pid}/team/remove", data={"_csrf_token": tok, "user_id": str(staff["user_id"])})
        assert r.status_code == 303 and r.headers["location"] == f"/programs/{pid}/team?m=remove"
        assert "Their access to this programme has ended" in (await client.get(r.headers["location"])).text
        # Their open session is refused at once.
        assert (await crew.get(f"/programs/{pid}", headers={"Accept": "text/html"})).status_code == 404
    assert await Membership.count().where(Membership.user == staff["user_id"]) == 0
    assert await AuditEvent.count().where(AuditEvent.action == "member_removed") == 1
    for action, extra in (("remove", {}), ("role", {"role": "staff"})):
        r = await client.post(f"/programs/{pid}/team/{action}", data={"_csrf_token": tok, "user_id": str(me), **extra})
        assert r.status_code == 303 and "e=" in r.headers["location"], (action, r.headers.get("location"))
        page = await client.get(r.headers["location"])
        assert "last organizer" in page.text or "someone else an organizer first" in page.text, page.text[:2000]
    assert await Membership.count().where((Membership.program == pid) & (Membership.role == "organizer") & (Membership.user == me)) == 1
