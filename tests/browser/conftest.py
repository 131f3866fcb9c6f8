"""Browser tests: the real app server in a subprocess, real Debian Chromium through Playwright.

Fixtures and helpers for any browser test:
- `live_server` (session): `planner serve` on a free loopback port over a fresh database (a temp SQLite
  file, or with PLANNER_TEST_DB=postgres a new PostgreSQL database, dropped afterwards). Yields a
  `LiveServer` with `base_url`, an admin bearer `token` (`headers`), `api()` for an httpx client, and
  `add_user()` (runs `planner user add` in the server's environment).
- `browser` (session): Chromium with a fake camera that shows a blank white picture;
  `launch_browser(y4m)` for one whose camera shows a given Y4M file (closed after the test).
- `write_y4m(path, image)` and `qr_frame(png_bytes)`: a fake-camera video from a picture, e.g. a ticket's QR.
- `login(page, server, email, password, next)`, `seed_running_activity(server, ...)`, `add_staff(...)`.
Every browser test is marked `@pytest.mark.browser`.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image

from tests.conftest import ENGINE, PG_ADMIN

CHROMIUM = os.environ.get("PLANNER_CHROMIUM", "/usr/bin/chromium")
ADMIN_EMAIL = "admin@example.org"
PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _planner_command() -> list[str]:
    beside = Path(sys.executable).with_name("planner")
    found = str(beside) if beside.exists() else shutil.which("planner")
    return [found] if found else [sys.executable, "-c", "import sys; from planner.cli import main; sys.exit(main())"]


@dataclass
class LiveServer:
    base_url: str
    token: str
    email: str
    password: str
    env: dict = field(repr=False)
    workdir: Path = field(repr=False)

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self) -> httpx.AsyncClient:
        """An httpx client on the server, authorised as the admin."""
        return httpx.AsyncClient(base_url=self.base_url, headers=self.headers, timeout=30)

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*_planner_command(), *args], env=self.env, cwd=self.workdir, input=input,
                              capture_output=True, text=True, timeout=120, check=True)

    def add_user(self, email: str, password: str = PASSWORD, *, admin: bool = False) -> None:
        self.cli("user", "add", email, "--password-stdin", *(["--admin"] if admin else []), input=password + "\n")


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def serving(**extra_env: str):
    """`planner serve` on a free loopback port over a fresh database, with `extra_env` on top (for example an
    SMTP server of the test's own); the server and its database are gone afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="planner-browser-"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    pg_name = None
    if ENGINE == "postgres":
        pg_name = f"planner_browser_{uuid.uuid4().hex[:10]}"
        await _pg(f'CREATE DATABASE "{pg_name}"')
        db_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{pg_name}"
    else:
        db_url = f"sqlite:///{workdir}/browser.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_SMTP")}
    env.update(PLANNER_DATABASE_URL=db_url, PLANNER_SECRET_KEY="browser-test-secret-" + uuid.uuid4().hex,
               PLANNER_BASE_URL=base_url, PLANNER_OUTBOX_POLL="30")
    env.update(extra_env)
    server = LiveServer(base_url=base_url, token="", email=ADMIN_EMAIL, password=PASSWORD, env=env, workdir=workdir)
    proc = None
    log = open(workdir / "server.log", "w")
    try:
        server.add_user(ADMIN_EMAIL, PASSWORD, admin=True)  # also applies the migrations
        proc = subprocess.Popen([*_planner_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as c:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"planner serve exited with {proc.returncode}:\n{(workdir / 'server.log').read_text()[-3000:]}")
                try:
                    if (await c.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"planner serve did not answer /health:\n{(workdir / 'server.log').read_text()[-3000:]}")
                await asyncio.sleep(0.2)
            r = await c.post("/api/auth/token", json={"email": ADMIN_EMAIL, "password": PASSWORD})
            assert r.status_code == 201, r.text
            server.token = r.json()["token"]
        yield server
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        if pg_name:
            await _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
async def live_server():
    async with serving() as server:
        yield server


# ---------------------------------------------------------------- fake camera

def write_y4m(path: Path | str, image: Image.Image, *, frames: int = 4, size: tuple[int, int] = (640, 480)) -> Path:
    """A Y4M video of `image` centred on white (4:2:0), for --use-file-for-fake-video-capture."""
    w, h = size
    frame = Image.new("RGB", size, "white")
    image = image.convert("RGB")
    if image.width > w or image.height > h:
        image.thumbnail((w, h), Image.Resampling.NEAREST)
    frame.paste(image, ((w - image.width) // 2, (h - image.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (w // 2, h // 2)
    planes = y.tobytes() + cb.resize(half, Image.Resampling.BOX).tobytes() + cr.resize(half, Image.Resampling.BOX).tobytes()
    path = Path(path)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)
    return path


def qr_frame(png: bytes, *, target: int = 400) -> Image.Image:
    """A ticket's QR PNG scaled up by whole pixels (sharp edges) to about `target` px."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    factor = max(1, target // img.width)
    return img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)


def chromium_args(y4m: Path) -> list[str]:
    return ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={y4m}",
            "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def blank_y4m(tmp_path_factory) -> Path:
    return write_y4m(tmp_path_factory.mktemp("camera") / "blank.y4m", Image.new("RGB", (8, 8), "white"), frames=2)


@pytest.fixture(scope="session")
async def playwright_driver():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="session")
async def browser(playwright_driver, blank_y4m):
    b = await playwright_driver.chromium.launch(executable_path=CHROMIUM, args=chromium_args(blank_y4m))
    yield b
    await b.close()


@pytest.fixture
async def launch_browser(playwright_driver):
    """`await launch_browser(y4m_path)`: a Chromium whose camera shows that video; closed after the test."""
    opened = []

    async def launch(y4m: Path):
        b = await playwright_driver.chromium.launch(executable_path=CHROMIUM, args=chromium_args(y4m))
        opened.append(b)
        return b

    yield launch
    for b in opened:
        await b.close()


# ---------------------------------------------------------------- seeding through the HTTP API

async def login(page, server: LiveServer, email: str, password: str = PASSWORD, next: str = "/") -> None:
    await page.goto(f"{server.base_url}/login?next={next}")
    await page.fill("#email", email)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("form[action='/login'] button[type=submit]")


def _local(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).replace(tzinfo=None).isoformat(timespec="minutes")


async def seed_running_activity(server: LiveServer, *, title: str = "Morning breathwork", tz: str = "Europe/Berlin",
                                capacity: int = 20, **activity) -> dict:
    """A programme around today with one space and an activity that started 20 minutes ago and ends in 70."""
    now = datetime.now(timezone.utc)
    today = now.astimezone(ZoneInfo(tz)).date()
    tag = uuid.uuid4().hex[:6]
    async with server.api() as c:
        p = (await c.post("/api/programs", json={"name": f"Browser festival {tag}", "timezone": tz, "country": "DE",
                                                  "starts_on": (today - timedelta(days=1)).isoformat(),
                                                  "ends_on": (today + timedelta(days=1)).isoformat()})).json()
        s = (await c.post(f"/api/programs/{p['id']}/spaces", json={"name": f"Wellness tent {tag}", "capacity": 60})).json()
        r = await c.post(f"/api/programs/{p['id']}/activities", json={
            "kind": "activation", "title": title, "space_id": s["id"], "capacity": capacity, "rsvp_mode": "open",
            "starts_at": _local(now - timedelta(minutes=20), tz), "ends_at": _local(now + timedelta(minutes=70), tz), **activity})
        assert r.status_code == 201, r.text
    return {"program": p, "space": s, "activity": r.json(), "tag": tag}


async def add_staff(server: LiveServer, program_id: int, email: str) -> dict:
    """A staff account of the programme; returns its email, password and bearer headers."""
    server.add_user(email)
    async with server.api() as c:
        r = await c.post(f"/api/programs/{program_id}/members", json={"email": email, "role": "staff"})
        assert r.status_code == 201, r.text
        t = await c.post("/api/auth/token", json={"email": email, "password": PASSWORD})
        assert t.status_code == 201, t.text
    return {"email": email, "password": PASSWORD, "headers": {"Authorization": f"Bearer {t.json()['token']}"}}


async def rsvp(server: LiveServer, activity_id: int, name: str, **kw) -> dict:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as c:
        r = await c.post(f"/api/activities/{activity_id}/rsvps",
                         json={"name": name, "email": f"{uuid.uuid4().hex[:8]}@example.org", **kw})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == "confirmed", body
        return body
