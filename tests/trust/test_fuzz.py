"""Schemathesis over the app's own OpenAPI schema, authenticated with a bearer token, against a real
`planner serve` on a fresh database of the engine under test: no 5xx, every status code and body as
the schema declares. Bounded in time (PLANNER_FUZZ_SECONDS, default 150 s)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from planner.app import create_app
from tests.conftest import ENGINE, PG_ADMIN
from tests.trust.server import env_for, run, server_log, serving
from tests.trust.test_access_matrix import ACCESS, GUEST, OWNER, PUBLIC

FUZZ_SECONDS = int(os.environ.get("PLANNER_FUZZ_SECONDS", "150"))
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


def _seed(base: str) -> str:
    """An organizer with a programme, a space, an activity, a guest and an item: ids for the fuzzer to find."""
    with httpx.Client(base_url=base, timeout=30) as c:
        token = c.post("/api/auth/token", json={"email": "fuzz@example.org", "password": "correct horse battery"}).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        p = c.post("/api/programs", headers=h, json={"name": "Fuzz Fest", "timezone": "Europe/London", "country": "GB",
                                                    "starts_on": "2027-07-01", "ends_on": "2027-07-05"}).json()
        s = c.post(f"/api/programs/{p['id']}/spaces", headers=h, json={"name": "Tent", "capacity": 30}).json()
        a = c.post(f"/api/programs/{p['id']}/activities", headers=h, json={
            "kind": "activation", "title": "Yoga", "space_id": s["id"], "starts_at": "2027-07-02T10:00",
            "ends_at": "2027-07-02T11:00", "capacity": 10}).json()
        c.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Guest", "email": "guest@example.org"})
        c.post(f"/api/programs/{p['id']}/items", headers=h, json={"name": "Earplugs", "sku": "EAR-1"})
    return token


@pytest.fixture
def fresh_database_url():
    if ENGINE == "postgres":
        name = f"planner_fuzz_{uuid.uuid4().hex[:8]}"

        async def admin(sql: str) -> None:
            conn = await asyncpg.connect(PG_ADMIN)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        import asyncio

        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        try:
            yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        finally:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        yield f"sqlite:///{os.environ['PLANNER_TEST_TMP']}/fuzz-{uuid.uuid4().hex[:6]}.db"


def _findings(out: str) -> str:
    """Schemathesis's own ERRORS and FAILURES sections, which come before its long summary."""
    start = min((i for i in (out.find("= ERRORS ="), out.find("= FAILURES =")) if i >= 0), default=-1)
    end = out.find("= WARNINGS =") if "= WARNINGS =" in out else out.find("= SUMMARY =")
    return out[start:end][:8000] + "\n...\n" if start >= 0 else ""


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path: Path, fresh_database_url: str):
    env = env_for(fresh_database_url, PLANNER_SECRET_KEY="fuzz-secret-0123456789abcdef")
    made = run(["user", "add", "fuzz@example.org", "--password-stdin", "--admin"], env, stdin="correct horse battery\n")
    assert made.returncode == 0, made.stderr
    with serving(env, tmp_path) as base:
        token = _seed(base)
        st = Path(sys.executable).with_name("schemathesis")
        done = subprocess.run(
            [str(st), "run", f"{base}/schema/openapi.json", "-H", f"Authorization: Bearer {token}",
             # Revoking the fuzzer's own token would leave every later request a 401 (nothing past the door tested);
             # DELETE /api/auth/token is covered by the matrix and tests/accounts/test_sessions.py.
             "--exclude-name", "DELETE /api/auth/token",
             "--max-examples", "30", "--max-time", str(FUZZ_SECONDS), "-w", "1", "-c", CHECKS,
             "--request-timeout", "20"],
            capture_output=True, text=True, timeout=FUZZ_SECONDS + 240, cwd=tmp_path, check=False,
        )
        # The whole run was authenticated: the fuzzer's token still opens the API at the end.
        still = httpx.get(f"{base}/api/programs", headers={"Authorization": f"Bearer {token}"}, timeout=20)
    log = server_log(tmp_path)
    assert done.returncode == 0, _findings(done.stdout) + done.stdout[-3000:] + done.stderr[-2000:]
    assert "unhandled error" not in log, log[-4000:]
    assert still.status_code == 200, still.text
    print(done.stdout[done.stdout.find("= SUMMARY ="):][:1500])  # operations and test cases, with -s or -rP


def test_the_schema_declares_the_bearer_scheme_and_each_operations_error_answers():
    """What the fuzzer holds the app to is declared: the bearer scheme, and per operation the errors it
    can answer; an operation the matrix says needs an account or a role declares 401 and 403."""
    schema = create_app(run_worker=False).openapi_schema.to_schema()
    assert schema["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http", "scheme": "bearer", "description": "A token from POST /api/auth/token."}
    assert schema["security"] == [{"BearerToken": []}]
    checked = 0
    for (method, path), access in ACCESS.items():
        if not path.startswith("/api/"):
            continue
        op = schema["paths"][re.sub(r"{(\w+):\w+}", r"{\1}", path)][method.lower()]
        codes = {int(c) for c in op["responses"]}
        assert {400, 404, 429, 503} <= codes, (method, path, codes)
        assert any(200 <= c < 300 for c in codes), (method, path, codes)
        if access.level not in (PUBLIC, GUEST, OWNER):
            assert {401, 403} <= codes, (method, path, codes)
        for code in codes - {200, 201, 202, 204}:
            body = op["responses"][str(code)]
            assert body["description"], (method, path, code)
        checked += 1
    assert checked > 80
