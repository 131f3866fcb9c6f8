"""Login throttling that cannot be turned against the owner, and the same throttle for guesses."""
from __future__ import annotations

import asyncio
import dataclasses
import time

from planner.accounts.rules import hash_password
from planner.accounts.tables import User
from planner.app import create_app
from planner.settings import get_settings
from planner.throttle.tables import ThrottleHit
from tests.accounts.helpers import PASSWORD, client_from, login
from tests.conftest import make_user

OWNER = "organizer@example.org"


async def _token(c, email=OWNER, password=PASSWORD):
    return await c.post("/api/auth/token", json={"email": email, "password": password})


async def test_attacker_is_throttled_but_the_owner_gets_in_from_another_client(app, client):
    await make_user()
    async with client_from(app, "203.0.113.66") as attacker, client_from(app, "198.51.100.7") as owner:
        for _ in range(5):
            assert (await _token(attacker, password="guess")).status_code == 401
        r = await _token(attacker)  # even the right password, from the attacking client
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert "Too many failed logins from your connection" in r.json()["detail"] and "minutes" in r.json()["detail"]
        # The owner, elsewhere, is not refused: API and login page alike.
        assert (await _token(owner)).status_code == 201
        assert (await login(owner)).status_code == 303
        page = await login(attacker)
        assert page.status_code == 429 and "retry-after" in page.headers and "Too many failed logins" in page.text


async def test_account_attacked_from_many_clients_is_slowed_not_locked(app, client):
    await make_user()
    clients = [client_from(app, f"203.0.113.{i}") for i in range(1, 16)]
    try:
        for c in clients:
            assert (await _token(c, password="guess")).status_code == 401
        started = time.monotonic()
        assert (await _token(clients[0], password="guess again")).status_code == 401
        slowed = time.monotonic() - started
        assert slowed >= 0.8, slowed  # 15 failures on the account: each further try waits
        async with client_from(app, "198.51.100.7") as owner:
            assert (await _token(owner)).status_code == 201
    finally:
        for c in clients:
            await c.aclose()


async def test_password_spraying_from_one_client_is_slowed(app, client):
    for i in range(3):
        await make_user(f"person{i}@example.org", admin=False)
    async with client_from(app, "203.0.113.9") as sprayer:
        codes = [(await _token(sprayer, email=f"person{i}@example.org", password="Summer2027!")).status_code for i in range(30)]
        assert codes[:20] == [401] * 20
        assert set(codes[20:]) == {429}
        r = await _token(sprayer, email="person0@example.org", password=PASSWORD)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    async with client_from(app, "198.51.100.7") as elsewhere:
        assert (await _token(elsewhere, email="person0@example.org")).status_code == 201


async def test_concurrent_guesses_from_one_client_get_no_more_than_the_limit(app, client):
    await make_user()
    async with client_from(app, "203.0.113.66") as attacker:
        results = await asyncio.gather(*(_token(attacker, password=f"guess {i}") for i in range(25)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(401) == 5 and codes.count(429) == 20, codes


async def test_a_good_login_is_not_counted_against_the_client(app, client):
    shared = hash_password(PASSWORD)  # one hash for all: argon2 is slow on purpose
    await User.insert(*(User(email=f"crew{i}@example.org", password_hash=shared) for i in range(22)))
    # A festival's staff share one address: more of them logging in than the client limit is not an attack.
    async with client_from(app, "198.51.100.50") as venue:
        for i in range(22):
            assert (await _token(venue, email=f"crew{i}@example.org")).status_code == 201
    assert await ThrottleHit.count() == 0


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(client):
    await make_user()
    trusting = create_app(dataclasses.replace(get_settings(), trusted_proxies=("127.0.0.1",)), run_worker=False)
    async with client_from(trusting, "127.0.0.1") as proxy:
        for _ in range(5):
            assert (await proxy.post("/api/auth/token", json={"email": OWNER, "password": "x"},
                                     headers={"X-Forwarded-For": "203.0.113.66"})).status_code == 401
        assert (await proxy.post("/api/auth/token", json={"email": OWNER, "password": PASSWORD},
                                 headers={"X-Forwarded-For": "203.0.113.66"})).status_code == 429
        # Another client behind the same proxy is a different client.
        assert (await proxy.post("/api/auth/token", json={"email": OWNER, "password": PASSWORD},
                                 headers={"X-Forwarded-For": "198.51.100.7"})).status_code == 201
    # Not from a proxy that is not trusted: the header is ignored, the peer is the client.
    async with client_from(trusting, "192.0.2.44") as direct:
        for i in range(5):
            assert (await direct.post("/api/auth/token", json={"email": OWNER, "password": "x"},
                                      headers={"X-Forwarded-For": f"10.9.8.{i}"})).status_code == 401
        r = await direct.post("/api/auth/token", json={"email": OWNER, "password": PASSWORD}, headers={"X-Forwarded-For": "10.1.1.1"})
        assert r.status_code == 429
    # With no trusted proxies configured (the default), nobody's header is believed.
    plain = create_app(dataclasses.replace(get_settings(), trusted_proxies=()), run_worker=False)
    async with client_from(plain, "127.0.0.1") as local:
        for i in range(5):
            await local.post("/api/auth/token", json={"email": OWNER, "password": "x"}, headers={"X-Forwarded-For": f"10.0.0.{i}"})
        assert (await local.post("/api/auth/token", json={"email": OWNER, "password": PASSWORD},
                                 headers={"X-Forwarded-For": "10.0.0.99"})).status_code == 429


async def test_the_count_is_shared_by_every_worker(client):
    await make_user()
    workers = [create_app(run_worker=False) for _ in range(2)]
    async with client_from(workers[0], "203.0.113.66") as a, client_from(workers[1], "203.0.113.66") as b:
        for i in range(5):
            assert (await (a if i % 2 else b).post("/api/auth/token", json={"email": OWNER, "password": "x"})).status_code == 401
        assert (await a.post("/api/auth/token", json={"email": OWNER, "password": PASSWORD})).status_code == 429
        assert (await b.post("/api/auth/token", json={"email": OWNER, "password": PASSWORD})).status_code == 429


async def test_unknown_guest_tokens_are_throttled_per_client(app, api, setup):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    async with client_from(app, "203.0.113.66") as guesser, client_from(app, "198.51.100.7") as guest:
        r = await guest.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana Lima", "email": "ana@example.org"})
        mine = r.json()["manage_url"].split("/r/", 1)[1]
        for i in range(30):
            r = await guesser.get(f"/api/rsvps/{i + 1}", params={"token": f"guess-{i}"})
            assert r.status_code == 404
        r = await guesser.get("/api/rsvps/1", params={"token": "one-more"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert "Too many tries from your connection" in r.json()["detail"]
        page = await guesser.get("/r/1", params={"token": "x"}, headers={"Accept": "text/html"})
        assert page.status_code == 429 and "Too many tries" in page.text and "retry-after" in page.headers
        # The guest with their own link, elsewhere, is not affected.
        assert (await guest.get(f"/r/{mine}", headers={"Accept": "text/html"})).status_code == 200


async def test_invite_code_guesses_are_throttled(app, api, setup):
    d = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="dinner", rsvp_mode="invite", capacity=8,
                           starts_at="2027-07-03T19:00", ends_at="2027-07-03T21:00")
    real = (await api.post(f"/api/activities/{d['id']}/invitations", {"name": "Cleo", "email": "cleo@example.org"}, expect=201)).json()
    async with client_from(app, "203.0.113.66") as guesser:
        for i in range(10):
            r = await guesser.post(f"/api/activities/{d['id']}/rsvps", json={"name": "X", "email": f"x{i}@example.org", "invite_code": f"code{i}"})
            assert r.status_code == 404
        r = await guesser.post(f"/api/activities/{d['id']}/rsvps",
                               json={"name": "Cleo", "email": "cleo@example.org", "invite_code": real["invite_code"]})
        assert r.status_code == 429 and "retry-after" in r.headers
    async with client_from(app, "198.51.100.7") as cleo:
        r = await cleo.post(f"/api/activities/{d['id']}/rsvps",
                            json={"name": "Cleo", "email": "cleo@example.org", "invite_code": real["invite_code"]})
        assert r.status_code == 201, r.text


async def test_rsvps_from_one_client_are_limited(app, api, setup, monkeypatch):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=50)
    monkeypatch.setattr("planner.throttle.web.get_settings", lambda: dataclasses.replace(get_settings(), rsvp_client_limit=5))
    async with client_from(app, "203.0.113.66") as filler:
        codes = [(await filler.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"Fake {i}", "email": f"f{i}@example.org"})).status_code
                 for i in range(7)]
    assert codes == [201] * 5 + [429] * 2
    async with client_from(app, "198.51.100.7") as guest:
        assert (await guest.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).status_code == 201
