"""Sessions and bearer tokens that can be ended: logout, password change, revocation, expiry."""
from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from planner.accounts.rules import issue_token
from planner.accounts.tables import ApiToken, User, UserSession
from planner.clock import utcnow
from planner.web_common import SESSION_COOKIE
from tests.accounts.helpers import PASSWORD, client_from, form_token, login
from tests.conftest import make_user


async def test_session_cookie_carries_a_random_id_stored_only_hashed(app, client):
    await make_user()
    r = await login(client)
    assert r.status_code == 303
    secret = client.cookies.get(SESSION_COOKIE)
    assert secret and len(secret) >= 40
    row = await UserSession.select().first()
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row.values())
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_logout_ends_the_session_a_copied_cookie_stops_working(app, client):
    await make_user()
    await login(client)
    copied = client.cookies.get(SESSION_COOKIE)
    async with client_from(app, "203.0.113.5") as thief:
        thief.cookies.set(SESSION_COOKIE, copied)
        assert (await thief.get("/api/programs")).status_code == 200
        tok = await form_token(client, "/")
        r = await client.post("/logout", data={"_csrf_token": tok})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert await UserSession.count() == 0
        # The copied cookie no longer opens anything, on pages or API.
        assert (await thief.get("/api/programs")).status_code == 401
        page = await thief.get("/", follow_redirects=False)
        assert page.status_code in (302, 303) and page.headers["location"].startswith("/login")


async def test_login_gives_a_new_session_id_never_the_one_the_browser_had(app, client):
    await make_user()
    client.cookies.set(SESSION_COOKIE, "planted-by-someone-else", domain="testserver.local")
    await login(client)
    assert client.cookies.get(SESSION_COOKIE) != "planted-by-someone-else"
    first = client.cookies.get(SESSION_COOKIE)
    await login(client)
    assert client.cookies.get(SESSION_COOKIE) != first
    # Logging in again ended the earlier session of this browser.
    assert await UserSession.count() == 1


async def test_password_change_ends_every_other_session(app, client):
    await make_user()
    async with client_from(app, "198.51.100.2") as laptop, client_from(app, "198.51.100.3") as phone:
        await login(laptop)
        await login(phone)
        token_before = (await laptop.post("/api/auth/token", json={"email": "organizer@example.org", "password": PASSWORD})).json()["token"]
        assert (await phone.get("/api/programs")).status_code == 200
        tok = await form_token(laptop, "/account")
        r = await laptop.post("/account/password", data={"_csrf_token": tok, "current": PASSWORD,
                                                         "new": "a brand new passphrase", "new2": "a brand new passphrase"})
        assert r.status_code == 303, r.text
        assert (await phone.get("/api/programs")).status_code == 401
        assert (await laptop.get("/api/programs")).status_code == 200
        assert await UserSession.count() == 1
        assert (await laptop.post("/api/auth/token", json={"email": "organizer@example.org", "password": PASSWORD})).status_code == 401
        assert (await phone.post("/api/auth/token", json={"email": "organizer@example.org", "password": "a brand new passphrase"})).status_code == 201
        # Tokens are not sessions: a token made before keeps working until it expires or is revoked.
        assert (await laptop.get("/api/programs", headers={"Authorization": f"Bearer {token_before}"})).status_code == 200


async def test_password_change_with_a_wrong_current_password_changes_nothing(app, client):
    await make_user()
    async with client_from(app, "198.51.100.2") as laptop, client_from(app, "198.51.100.3") as phone:
        await login(laptop)
        await login(phone)
        before = (await User.select(User.password_hash).first())["password_hash"]
        tok = await form_token(laptop, "/account")
        r = await laptop.post("/account/password", data={"_csrf_token": tok, "current": "not it at all",
                                                         "new": "a brand new passphrase", "new2": "a brand new passphrase"})
        assert r.status_code == 400 and "current password is not right" in r.text
        assert (await User.select(User.password_hash).first())["password_hash"] == before
        assert await UserSession.count() == 2


async def test_token_revoked_by_delete_stops_working(client):
    await make_user()
    token = (await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": PASSWORD})).json()["token"]
    other = (await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": PASSWORD})).json()["token"]
    h = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/programs", headers=h)).status_code == 200
    r = await client.delete("/api/auth/token", headers=h)
    assert r.status_code == 204 and r.content == b""
    r = await client.get("/api/programs", headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert (await client.delete("/api/auth/token", headers=h)).status_code == 401
    # Only that token: the other one still works.
    assert (await client.get("/api/programs", headers={"Authorization": f"Bearer {other}"})).status_code == 200
    assert await ApiToken.count() == 1


async def test_token_expires(client):
    user = await make_user()
    old = await issue_token(user["id"], now=utcnow() - timedelta(days=31), days=30)
    fresh = await issue_token(user["id"], now=utcnow(), days=30)
    r = await client.get("/api/programs", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert (await client.get("/api/programs", headers={"Authorization": f"Bearer {fresh}"})).status_code == 200
    body = (await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": PASSWORD})).json()
    assert body["expires_at"] > (utcnow() + timedelta(days=89)).isoformat()


async def test_tokens_listed_on_the_account_page_and_revocable_there(app, client):
    user = await make_user()
    token = await issue_token(user["id"], now=utcnow() - timedelta(minutes=5), days=90, label="ticketing sync")
    assert (await client.get("/api/programs", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    row = await ApiToken.select().first()
    assert row["last_used_at"] is not None  # the use is recorded (at most once a minute)
    await login(client)
    page = await client.get("/account")
    assert page.status_code == 200
    assert "ticketing sync" in page.text and "Last used" in page.text and "Expires" in page.text
    assert token not in page.text
    tok = await form_token(client, "/account")
    r = await client.post("/account/revoke-token", data={"_csrf_token": tok, "token_id": str(row["id"])})
    assert r.status_code == 303
    assert (await client.get("/api/programs", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    # A token made on the page is shown once, and works.
    r = await client.post("/account/token", data={"_csrf_token": tok, "label": "door laptop"})
    shown = r.text.split('id="new-token" readonly value="', 1)[1].split('"', 1)[0]
    assert shown.startswith("pl_")
    assert (await client.get("/api/programs", headers={"Authorization": f"Bearer {shown}"})).status_code == 200
    assert shown not in (await client.get("/account")).text


async def test_someone_elses_token_cannot_be_revoked_from_the_page(app, client):
    other = await make_user("other@example.org", admin=False)
    theirs = await issue_token(other["id"], now=utcnow(), days=90)
    await make_user()
    await login(client)
    tok = await form_token(client, "/account")
    row = await ApiToken.select().where(ApiToken.user == other["id"]).first()
    r = await client.post("/account/revoke-token", data={"_csrf_token": tok, "token_id": str(row["id"])})
    assert r.status_code == 404
    assert (await client.get("/api/programs", headers={"Authorization": f"Bearer {theirs}"})).status_code == 200


async def test_logouts_racing_a_request_leave_no_session(app, client):
    await make_user()
    await login(client)
    copied = client.cookies.get(SESSION_COOKIE)
    tok = await form_token(client, "/")
    async with client_from(app, "203.0.113.5") as thief:
        thief.cookies.set(SESSION_COOKIE, copied)
        results = await asyncio.gather(client.post("/logout", data={"_csrf_token": tok}),
                                       *(thief.get("/api/programs") for _ in range(5)))
        assert results[0].status_code == 303
        assert (await thief.get("/api/programs")).status_code == 401
        assert await UserSession.count() == 0
