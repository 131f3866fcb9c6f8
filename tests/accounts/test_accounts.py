from planner.accounts.tables import ApiToken, User


async def test_token_is_stored_hashed(api):
    row = await ApiToken.select().first()
    assert row["token_hash"] != api.token and len(row["token_hash"]) == 64


async def test_password_is_argon2(api):
    u = await User.select().first()
    assert u["password_hash"].startswith("$argon2")


async def test_wrong_password_then_throttled(client, api):
    for _ in range(5):
        r = await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": "wrong"})
        assert r.status_code == 401
    r = await client.post("/api/auth/token", json={"email": "organizer@example.org", "password": "correct horse battery"})
    assert r.status_code == 429


async def test_login_page_sets_session_and_csrf_is_required(client, api):
    r = await client.get("/login")
    assert r.status_code == 200
    csrf = client.cookies.get("csrftoken")
    r = await client.post("/login", data={"email": "organizer@example.org", "password": "correct horse battery", "next": "/"})
    assert r.status_code == 403  # no CSRF token in the form
    r = await client.post("/login", data={"email": "organizer@example.org", "password": "correct horse battery", "next": "/", "_csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = await client.get("/")
    assert r.status_code == 200 and "Your programmes" in r.text
    # Session-authenticated API writes need the CSRF header too.
    r = await client.post("/api/programs", json={"name": "X", "timezone": "UTC", "country": "US", "starts_on": "2027-01-01", "ends_on": "2027-01-02"})
    assert r.status_code == 403
    r = await client.post("/api/programs", headers={"x-csrftoken": csrf}, json={"name": "X", "timezone": "UTC", "country": "US", "starts_on": "2027-01-01", "ends_on": "2027-01-02"})
    assert r.status_code == 201
