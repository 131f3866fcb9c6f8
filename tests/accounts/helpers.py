"""Clients from chosen addresses over the real app, and logging in through the real login form."""
from __future__ import annotations

import re

import httpx

PASSWORD = "correct horse battery"


def client_from(app, address: str, **headers) -> httpx.AsyncClient:
    """An HTTP client whose requests reach the app from `address` (the ASGI peer)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local", headers=headers)


async def login(c: httpx.AsyncClient, email: str = "organizer@example.org", password: str = PASSWORD,
                headers: dict | None = None) -> httpx.Response:
    if not c.cookies.get("csrftoken"):
        await c.get("/login")
    return await c.post("/login", data={"email": email, "password": password, "next": "/",
                                        "_csrf_token": c.cookies.get("csrftoken")}, headers=headers or {})


async def form_token(c: httpx.AsyncClient, url: str) -> str:
    page = await c.get(url)
    assert page.status_code == 200, page.text
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def token_for(c: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    r = await c.post("/api/auth/token", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    return r.json()["token"]
