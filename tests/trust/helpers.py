"""Shared by the trust tests: logging in through the real login form, and guests made through the API."""
import re


async def login_session(client, email="organizer@example.org", password="correct horse battery"):
    """Log in through /login as a browser does; returns the CSRF token the pages use."""
    await client.get("/login")
    csrf = client.cookies.get("csrftoken")
    r = await client.post("/login", data={"email": email, "password": password, "next": "/", "_csrf_token": csrf})
    assert r.status_code in (200, 303), r.text
    return client.cookies.get("csrftoken")


def form_token(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)


async def guest(client, activity_id, name="Ivy Guest", email="ivy@example.org", **kw) -> dict:
    r = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": name, "email": email, **kw})
    assert r.status_code == 201, r.text
    out = r.json()
    out["token"] = out["manage_url"].split("token=")[1]
    return out
