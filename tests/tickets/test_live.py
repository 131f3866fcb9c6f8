"""Live dashboard: the counts, who may see them, and the server-sent event stream carried by Litestar channels.

The stream is read through the app's real ASGI interface with a small driver (`EventStream`):
httpx's ASGITransport waits for the whole body, which an event stream never finishes. The
browser side (EventSource, the polling fallback) is not exercised here.
"""
import asyncio
import contextlib
import json
from datetime import datetime, timezone

import pytest

from planner.inventory.tables import Item, Location, StockLevel
from planner.tickets import channels as tickets_channels
from planner.tickets import counts as tickets_counts
from tests.conftest import ENGINE, Api, make_user

DAY = "2027-07-02"


def build_app(monkeypatch):
    """create_app() with the channels plugin, registered here until create_app registers it itself."""
    import planner.app as app_module
    from planner.settings import get_settings

    app = app_module.create_app(run_worker=False)
    if tickets_channels.plugin_of(app) is None:
        original = app_module.Litestar

        def with_channels(**kw):
            return original(**{**kw, "plugins": [*(kw.get("plugins") or []), tickets_channels.channels_plugin(get_settings())]})

        monkeypatch.setattr(app_module, "Litestar", with_channels)
        app = app_module.create_app(run_worker=False)
        monkeypatch.setattr(app_module, "Litestar", original)
    return app


@contextlib.asynccontextmanager
async def running(app, hooks=True):
    """What a server does around the app: startup hooks, then the lifespan context of the channels plugin.

    A second app in the same process shares the first one's database pool, so it skips the hooks.
    """
    import httpx

    for hook in app.on_startup if hooks else []:
        await hook()
    try:
        async with tickets_channels.plugin_of(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
                yield c
    finally:
        for hook in app.on_shutdown if hooks else []:
            await hook()


@pytest.fixture
async def app(monkeypatch):
    return build_app(monkeypatch)


@pytest.fixture
async def client(app):
    async with running(app) as c:
        yield c


class EventStream:
    """GET an event stream through the ASGI app and read it event by event; leaving disconnects."""

    def __init__(self, app, path, token=None):
        self.app, self.path, self.token = app, path, token
        self.messages: asyncio.Queue = asyncio.Queue()
        self.gone = asyncio.Event()
        self.buffer = ""
        self.asked = False

    async def _receive(self):
        if not self.asked:
            self.asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message):
        await self.messages.put(message)

    async def __aenter__(self):
        path, _, query = self.path.partition("?")
        headers = [(b"host", b"testserver.local"), (b"accept", b"text/event-stream")]
        if self.token:
            headers.append((b"authorization", f"Bearer {self.token}".encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
                 "headers": headers, "client": ("127.0.0.1", 5000), "server": ("testserver.local", 80)}
        self.task = asyncio.create_task(self.app(scope, self._receive, self._send))
        start = await asyncio.wait_for(self.messages.get(), 10)
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return self

    async def body(self):
        out = b""
        while True:
            m = await asyncio.wait_for(self.messages.get(), 10)
            out += m.get("body", b"")
            if not m.get("more_body"):
                return out

    async def next(self, timeout=10.0):
        """The next event with a name, as (event, data parsed as JSON)."""
        while True:
            while "\n\n" not in self.buffer:
                m = await asyncio.wait_for(self.messages.get(), timeout)
                assert m["type"] == "http.response.body"
                self.buffer += m.get("body", b"").decode().replace("\r\n", "\n")
                assert m.get("more_body", False) or "\n\n" in self.buffer, "the stream ended"
            block, self.buffer = self.buffer.split("\n\n", 1)
            fields = {}
            for line in block.split("\n"):
                if ":" in line and not line.startswith(":"):
                    k, _, v = line.partition(":")
                    fields[k] = fields.get(k, "") + v.strip()
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])

    async def __aexit__(self, *exc):
        self.gone.set()
        await asyncio.wait_for(self.task, 10)


def row(status, activity_id):
    return next(a for a in status["activities"] if a["id"] == activity_id)


def counts(a):
    return {k: a[k] for k in ("checked_in", "expected", "no_shows", "waitlist", "kits")}


async def rsvp(client, activity_id, name, **kw):
    r = await client.post(f"/api/activities/{activity_id}/rsvps",
                          json={"name": name, "email": f"{name.lower()}@example.org", **kw})
    assert r.status_code == 201, r.text
    return r.json()


async def other_user(client, api, email, program_id=None, role="staff"):
    await make_user(email, "another password 1", admin=False)
    if program_id is not None:
        await api.post(f"/api/programs/{program_id}/members", {"email": email, "role": role}, expect=201)
    r = await client.post("/api/auth/token", json={"email": email, "password": "another password 1"})
    return Api(client, r.json()["token"])


async def kit_with_stock(program_id, space_id, on_hand):
    kit = Item(program=program_id, name="Calm kit", is_kit=True)
    await kit.save()
    shelf = await Location.select(Location.id).where(Location.space == space_id).first()
    await StockLevel.insert(StockLevel(program=program_id, item=kit.id, location=shelf["id"], on_hand=on_hand))
    return kit.id


# ---------------------------------------------------------------- counts

async def test_live_status_counts_people_of_the_day(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    kit = await kit_with_stock(pid, sid, on_hand=10)
    a = await api.activity(pid, sid, title="Breathwork", capacity=3, max_guests=1, kit_id=kit)
    other_day = await api.activity(pid, sid, title="Sound bath", starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    await api.activity(pid, sid, title="Draft", starts_at="2027-07-02T12:00", ends_at="2027-07-02T13:00", published=False)
    tent = await api.space(pid, name="Quiet room", capacity=10, counts_presence=True)
    ana = await rsvp(client, a["id"], "Ana", guests=1)
    await rsvp(client, a["id"], "Ben")
    assert (await rsvp(client, a["id"], "Cy"))["status"] == "waitlisted"
    scan = await api.post("/api/checkins", {"code": ana["ticket"]["code"]}, expect=200)
    assert scan.json()["result"] == "admitted"
    await api.post(f"/api/spaces/{tent['id']}/presence", {"direction": "in"}, expect=200)

    status = (await api.get(f"/api/programs/{pid}/live", params={"day": DAY}, expect=200)).json()
    assert status["day"] == DAY and status["program"]["timezone"] == "America/New_York"
    assert [x["title"] for x in status["activities"]] == ["Breathwork"]
    b = row(status, a["id"])
    assert counts(b) == {"checked_in": 2, "expected": 3, "no_shows": None, "waitlist": 1, "kits": 2}
    assert (b["starts_at"], b["ends_at"], b["space"], b["capacity"]) == ("2027-07-02T10:00:00-04:00", "2027-07-02T11:00:00-04:00", "Wellness tent", 3)
    assert status["totals"] == {"checked_in": 2, "expected": 3, "no_shows": None, "waitlist": 1, "kits": 2}
    assert status["spaces"] == [{"space_id": tent["id"], "name": "Quiet room", "inside": 1, "capacity": 10, "warning": False, "full": False}]
    nxt = (await api.get(f"/api/programs/{pid}/live", params={"day": "2027-07-03"}, expect=200)).json()
    assert [x["id"] for x in nxt["activities"]] == [other_day["id"]]
    # A day outside the programme shows its nearest day; a bad day is refused.
    assert (await api.get(f"/api/programs/{pid}/live", params={"day": "2030-01-01"}, expect=200)).json()["day"] == "2027-07-07"
    r = await api.get(f"/api/programs/{pid}/live", params={"day": "tomorrow"}, expect=400)
    assert r.json()["detail"] == "day must be a date like 2027-07-02."


async def test_live_status_no_shows_once_a_slot_has_ended(api, setup, client):
    """The rule takes the clock: at 10:30 the 10:00 slot has ended, the 10:20 one has not."""
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Massage", capacity=2, slot_minutes=20)
    s1, s2, s3 = (s["id"] for s in a["slots"])
    first = await rsvp(client, a["id"], "Ana", slot_id=s1)
    await rsvp(client, a["id"], "Ben", slot_id=s1)
    await rsvp(client, a["id"], "Cy", slot_id=s2)
    await api.post("/api/checkins", {"code": first["ticket"]["code"]}, expect=200)
    from planner.accounts.rules import user_by_id
    from planner.accounts.tables import User

    user = await user_by_id((await User.select(User.id).where(User.email == "organizer@example.org").first())["id"])
    at_1030 = datetime(2027, 7, 2, 14, 30, tzinfo=timezone.utc)  # 10:30 in New York
    status = await tickets_counts.live_status(pid, user=user, day=DAY, now=at_1030)
    m = row(status, a["id"])
    assert [(s["id"], s["checked_in"], s["expected"], s["no_shows"], s["ended"]) for s in m["slots"]] == [
        (s1, 1, 2, 1, True), (s2, 0, 1, None, False), (s3, 0, 0, None, False)]
    assert counts(m) == {"checked_in": 1, "expected": 3, "no_shows": 1, "waitlist": 0, "kits": 0}
    after = await tickets_counts.live_status(pid, user=user, day=DAY, now=datetime(2027, 7, 2, 16, 0, tzinfo=timezone.utc))
    assert row(after, a["id"])["no_shows"] == 2 and after["totals"]["no_shows"] == 2
    # Without a day: today in the programme's zone (kept within the programme's dates).
    today = await tickets_counts.live_status(pid, user=user, now=datetime(2027, 7, 3, 3, 0, tzinfo=timezone.utc))
    assert today["day"] == DAY  # 23:00 on 2 July in New York


async def test_live_status_expects_residents_every_day(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    res = await api.activity(pid, sid, kind="residency", title="Studio residency", rsvp_mode="apply", capacity=2,
                             max_guests=1, starts_at="2027-07-02T10:00", ends_at="2027-07-04T16:00")
    applied = await rsvp(client, res["id"], "Dee", guests=1)
    await api.post(f"/api/rsvps/{applied['id']}/approve", {}, expect=200)
    applied2 = await rsvp(client, res["id"], "Eli")
    await api.post(f"/api/rsvps/{applied2['id']}/approve", {}, expect=200)
    for day in ("2027-07-02", "2027-07-03", "2027-07-04"):
        status = (await api.get(f"/api/programs/{pid}/live", params={"day": day}, expect=200)).json()
        r = row(status, res["id"])
        assert (r["expected"], r["waitlist"], len(r["slots"])) == (2, 1, 1), day


async def test_live_is_for_the_programme_team_only(api, setup, client):
    pid = setup["program"]["id"]
    staff = await other_user(client, api, "door@example.org", pid)
    outsider = await other_user(client, api, "outsider@example.org")
    await staff.get(f"/api/programs/{pid}/live", expect=200)
    await outsider.get(f"/api/programs/{pid}/live", expect=404)
    assert (await client.get(f"/api/programs/{pid}/live")).status_code == 401
    app = client._transport.app
    async with EventStream(app, f"/api/programs/{pid}/live/events", token=outsider.token) as s:
        assert s.status == 404
        assert json.loads(await s.body())["detail"] == "That programme was not found."
    async with EventStream(app, f"/api/programs/{pid}/live/events") as s:
        assert s.status == 401
        await s.body()
    page = await client.get(f"/programs/{pid}/live", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code in (302, 303) and page.headers["location"].startswith("/login")


async def test_dashboard_page_renders_counts_and_stream_urls(api, setup, client):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork & tea", capacity=4)
    await rsvp(client, a["id"], "Ana")
    await api.space(pid, name="Quiet room", capacity=10, counts_presence=True)
    page = await client.get(f"/programs/{pid}/live", params={"day": DAY}, headers={**api.h, "accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    assert "Breathwork &amp; tea" in html
    assert f'data-events-url="/api/programs/{pid}/live/events?day={DAY}"' in html
    assert f'data-status-url="/api/programs/{pid}/live?day={DAY}"' in html
    assert f'tr data-activity="{a["id"]}"' in html and "Quiet room" in html
    assert '<dd data-total="expected">1</dd>' in html
    assert "/static/js/dashboard.js" in html


# ---------------------------------------------------------------- the event stream

async def test_event_stream_sends_the_status_then_each_change(api, setup, client, app):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork", capacity=5)
    booked = await rsvp(client, a["id"], "Ana")
    tent = await api.space(pid, name="Quiet room", capacity=10, counts_presence=True)
    async with EventStream(app, f"/api/programs/{pid}/live/events?day={DAY}", token=api.token) as s:
        assert s.status == 200 and s.headers["content-type"].startswith("text/event-stream")
        event, first = await s.next()
        assert event == "status" and first["changed"] == []
        assert counts(row(first["status"], a["id"])) == {"checked_in": 0, "expected": 1, "no_shows": None, "waitlist": 0, "kits": 0}

        await api.post(f"/api/activities/{a['id']}/walkins", {"name": "Walk-in"}, expect=201)
        event, msg = await s.next()
        assert event == "status" and msg["changed"] == [a["id"]]
        assert counts(row(msg["status"], a["id"]))["checked_in"] == 1
        assert counts(row(msg["status"], a["id"]))["expected"] == 2

        await api.post(f"/api/spaces/{tent['id']}/presence", {"direction": "in"}, expect=200)
        event, msg = await s.next()
        assert msg["status"]["spaces"][0]["inside"] == 1 and msg["changed"] == []

        # A ticket scan: tickets/web.py publishes its results like this once the scan's transaction has committed.
        scan = (await api.post("/api/checkins", {"code": booked["ticket"]["code"]}, expect=200)).json()
        await tickets_channels.publish_scans(app, [scan])
        event, msg = await s.next()
        assert counts(row(msg["status"], a["id"]))["checked_in"] == 2 and a["id"] in msg["changed"]
    # Leaving the stream unsubscribed it: no dashboard is left listening.
    assert not tickets_channels.plugin_of(app)._channels.get(tickets_channels.channel_for(pid))


async def test_event_stream_coalesces_a_burst_and_beats_when_idle(api, setup, client, app, monkeypatch):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork", capacity=20)
    async with EventStream(app, f"/api/programs/{pid}/live/events?day={DAY}", token=api.token) as s:
        await s.next()
        await asyncio.gather(*[api.post(f"/api/activities/{a['id']}/walkins", {}, expect=201) for _ in range(6)])
        _, msg = await s.next()
        seen = row(msg["status"], a["id"])["checked_in"]
        while seen < 6:  # a burst arrives as one update, or at most a few
            _, msg = await s.next()
            seen = row(msg["status"], a["id"])["checked_in"]
        assert seen == 6
    monkeypatch.setattr(tickets_channels, "REFRESH_SECONDS", 0.2)
    async with EventStream(app, f"/api/programs/{pid}/live/events?day={DAY}", token=api.token) as s:
        await s.next()
        event, msg = await s.next(timeout=3)  # nothing moved: the status comes again as a heartbeat
        assert event == "status" and msg["changed"] == [] and row(msg["status"], a["id"])["checked_in"] == 6


async def test_event_stream_survives_a_malformed_message(api, setup, client, app):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork", capacity=5)
    async with EventStream(app, f"/api/programs/{pid}/live/events?day={DAY}", token=api.token) as s:
        await s.next()
        tickets_channels.plugin_of(app).publish(b'{"items": [{"no": "activity"}]} and more', tickets_channels.channel_for(pid))
        _, msg = await s.next()
        assert msg["changed"] == []
        await api.post(f"/api/activities/{a['id']}/walkins", {}, expect=201)
        _, msg = await s.next()
        assert msg["changed"] == [a["id"]] and row(msg["status"], a["id"])["checked_in"] == 1


async def test_event_stream_ends_after_a_while_so_servers_can_restart(api, setup, client, app, monkeypatch):
    from planner.tickets import live_web

    pid = setup["program"]["id"]
    monkeypatch.setattr(live_web, "STREAM_SECONDS", 0)
    async with EventStream(app, f"/api/programs/{pid}/live/events", token=api.token) as s:
        assert (await s.next())[0] == "status"
        assert (await s.next())[0] == "reconnect"
        assert (await s.body()) == b""  # the response is complete
    assert not tickets_channels.plugin_of(app)._channels.get(tickets_channels.channel_for(pid))


async def test_event_stream_ends_when_the_role_is_taken_away(api, setup, client, app, monkeypatch):
    from planner.programs.tables import Membership

    pid = setup["program"]["id"]
    staff = await other_user(client, api, "door@example.org", pid)
    monkeypatch.setattr(tickets_channels, "REFRESH_SECONDS", 0.2)
    async with EventStream(app, f"/api/programs/{pid}/live/events", token=staff.token) as s:
        await s.next()
        await Membership.delete().where(Membership.role == "staff")
        event, msg = await s.next(timeout=3)
        assert event == "gone" and msg == {"detail": "That programme was not found."}


async def test_a_failing_publish_never_breaks_a_walkin_and_later_updates_still_flow(api, setup, client, app, monkeypatch):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork", capacity=5)
    plugin = tickets_channels.plugin_of(app)
    backend = plugin._backend

    async def broken(*args, **kw):
        raise ConnectionError("the channel backend is down")

    async with EventStream(app, f"/api/programs/{pid}/live/events?day={DAY}", token=api.token) as s:
        await s.next()
        # The backend fails: the walk-in still succeeds, and the publish worker survives.
        monkeypatch.setattr(type(backend), "_send", broken)
        await api.post(f"/api/activities/{a['id']}/walkins", {}, expect=201)
        await asyncio.sleep(0.3)
        monkeypatch.undo()
        # Queueing itself fails: same.
        monkeypatch.setattr(plugin, "publish", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("not started")))
        await api.post(f"/api/activities/{a['id']}/walkins", {}, expect=201)
        monkeypatch.undo()
        await api.post(f"/api/activities/{a['id']}/walkins", {}, expect=201)
        _, msg = await s.next()
        assert row(msg["status"], a["id"])["checked_in"] == 3


async def test_event_stream_needs_the_plugin_running(api, setup, client, monkeypatch):
    idle = build_app(monkeypatch)  # registered, but no server lifespan has started it
    async with EventStream(idle, f"/api/programs/{setup['program']['id']}/live/events", token=api.token) as s:
        assert s.status == 503
        assert "refreshes every 10 seconds" in json.loads(await s.body())["detail"]
    await tickets_channels.publish_checkin(idle, setup["program"]["id"], {"kind": "checkin"})  # a no-op, not an error


async def test_scan_results_that_name_their_programme_are_published_as_they_are(api, setup, client, app):
    pid = setup["program"]["id"]
    plugin = tickets_channels.plugin_of(app)
    async with plugin.start_subscription(tickets_channels.channel_for(pid)) as sub:
        results = [{"result": "admitted", "activity": {"id": 424242}, "slot_id": 7, "party": 2, "program_id": pid},
                   {"result": "admitted", "activity": {"id": 424242}, "replay": True, "program_id": pid},
                   {"result": "already_checked_in", "activity": {"id": 424242}, "program_id": pid}]
        await tickets_channels.publish_scans(app, results)
        message = await asyncio.wait_for(sub.iter_events().__anext__(), 5)
    # Only the new admission; no lookup was needed for an activity that does not even exist.
    assert json.loads(message) == {"kind": "checkin", "items": [{"activity_id": 424242, "slot_id": 7, "party": 2}]}


async def test_channels_backend_follows_the_engine():
    from planner.settings import get_settings

    plugin = tickets_channels.channels_plugin(get_settings())
    expected = tickets_channels.MemoryBackend if ENGINE == "sqlite" else tickets_channels.PostgresNotifyBackend
    assert type(plugin._backend) is expected


# ---------------------------------------------------------------- several workers (PostgreSQL)

pg_only = pytest.mark.skipif(ENGINE != "postgres", reason="LISTEN/NOTIFY: several workers share one PostgreSQL; SQLite is one process")


@pg_only
async def test_a_walkin_on_one_worker_reaches_a_dashboard_on_another(api, setup, client, app, monkeypatch):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork", capacity=5)
    second = build_app(monkeypatch)  # another worker: its own plugin, its own LISTEN connection
    async with running(second, hooks=False):
        async with EventStream(second, f"/api/programs/{pid}/live/events?day={DAY}", token=api.token) as s:
            await s.next()
            await api.post(f"/api/activities/{a['id']}/walkins", {"name": "From door 1"}, expect=201)  # served by the first app
            _, msg = await s.next()
            assert row(msg["status"], a["id"])["checked_in"] == 1 and msg["changed"] == [a["id"]]


@pg_only
async def test_dashboards_hear_again_after_the_listen_connection_drops(api, setup, client, app):
    from planner import db

    pid, sid = setup["program"]["id"], setup["space"]["id"]
    a = await api.activity(pid, sid, title="Breathwork", capacity=5)
    backend = tickets_channels.plugin_of(app)._backend
    async with EventStream(app, f"/api/programs/{pid}/live/events?day={DAY}", token=api.token) as s:
        await s.next()
        old = backend._listener_conn
        await db.raw("SELECT pg_terminate_backend({})", old.get_server_pid())
        # The backend opens a new LISTEN connection and tells dashboards to read the counts again.
        _, msg = await s.next(timeout=10)
        assert backend._listener_conn is not old and not backend._listener_conn.is_closed()
        await api.post(f"/api/activities/{a['id']}/walkins", {}, expect=201)
        _, msg = await s.next()
        assert row(msg["status"], a["id"])["checked_in"] == 1
