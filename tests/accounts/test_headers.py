"""Security headers on every response: every GET route in the app's route table, static files, errors."""
from __future__ import annotations

import dataclasses
import re

from litestar.routes import HTTPRoute

from planner.app import create_app
from planner.settings import get_settings
from tests.accounts.helpers import client_from, login

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _check(r, path: str) -> None:
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, (path, r.status_code)
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp, path
    for name, value in EXPECTED.items():
        assert r.headers.get(name) == value, (path, name, r.headers.get(name))
    policy = r.headers.get("permissions-policy", "")
    assert ("camera=(self)" in policy) == (path == "/scan"), (path, policy)
    assert "camera=" in policy


def _get_paths(app, ids: dict[str, int]) -> list[str]:
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "GET" not in route.methods:
            continue
        path = route.path
        for name, kind in re.findall(r"{(\w+):(\w+)}", path):
            value = str(ids.get(name, 1)) if kind == "int" else ("css/planner.css" if kind == "path" else "x")
            path = path.replace(f"{{{name}:{kind}}}", value)
        paths.append(path)
    return paths


async def test_every_get_route_sends_the_security_headers(app, api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid)
    r = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()
    ids = {"program_id": pid, "space_id": sid, "activity_id": a["id"], "rsvp_id": r["id"]}
    paths = _get_paths(app, ids)
    assert len(paths) > 30 and "/scan" in paths and "/account" in paths
    await login(client)
    seen = set()
    for path in paths:
        if path.endswith("/live/events"):
            continue  # an endless event stream where live updates are on; its first bytes are checked below
        for headers in ({"Accept": "text/html"}, {"Accept": "application/json"}):
            resp = await client.get(path, headers=headers)
            assert resp.status_code < 500, (path, resp.status_code, resp.text[:300])
            _check(resp, path)
            seen.add(resp.status_code)
    assert 200 in seen
    async with client.stream("GET", f"/api/programs/{pid}/live/events") as stream:
        _check(stream, f"/api/programs/{pid}/live/events")
    # Anonymous, unknown paths, static files, and errors raised before any handler.
    async with client_from(app, "198.51.100.9") as anonymous:
        for path in ("/no/such/page", "/static/css/planner.css", "/static/js/scanner/main.js", "/login", "/health", "/schema/openapi.json"):
            resp = await anonymous.get(path, headers={"Accept": "text/html"})
            _check(resp, path)
        resp = await anonymous.post("/api/programs", content=b"{not json", headers={"Content-Type": "application/json"})
        assert resp.status_code in (400, 401)
        _check(resp, "/api/programs")


async def test_hsts_only_when_the_base_url_is_https(client):
    r = await client.get("/login")
    assert "strict-transport-security" not in r.headers
    secure = create_app(dataclasses.replace(get_settings(), base_url="https://planner.example.org"), run_worker=False)
    async with client_from(secure, "198.51.100.9") as c:
        for path in ("/login", "/api/programs", "/static/css/planner.css", "/nowhere"):
            r = await c.get(path)
            assert r.headers["strict-transport-security"].startswith("max-age=31536000"), path


def test_templates_hold_no_inline_script_or_style():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    for f in root.rglob("*.html"):
        text = f.read_text()
        assert "<style" not in text, f
        assert not re.search(r"\sstyle=", text), f
        assert not re.search(r"\son[a-z]+=", text), f
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert 'src="' in tag or 'type="application/json"' in tag, (f, tag)
