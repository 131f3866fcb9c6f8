"""The report's statements do not grow with the data: counted at the driver (bench/stmtcount.py) on the engine under test."""
from __future__ import annotations

import pytest

from bench.stmtcount import count, install, uninstall
from planner import db
from tests.reports import scenario

MAX_SQL = 20


@pytest.fixture(autouse=True, scope="module")
def driver_hooks():
    # Before the app's pool opens its connections (the client fixture); put back for the other modules.
    install()
    yield
    uninstall()


async def test_report_statements_do_not_grow_with_guests_activities_or_days(api, client):
    s = await scenario.build(api, client)
    pid = s["program"]["id"]
    url = f"/api/programs/{pid}/report"
    engine = db.engine()
    if hasattr(engine, "close_kept"):
        # SQLite keeps its connections per event loop: reopen them under the driver hook.
        await engine.close_kept()
    await api.get(url, expect=200)  # first use of each statement
    small = await count(lambda: api.get(url, expect=200))
    page_small = await count(lambda: api.client.get(f"/programs/{pid}/report", headers={**api.h, "Accept": "text/html"}))

    # Three more days of activities, 60 more guests, most of them admitted, a few on a waitlist.
    space = await api.space(pid, "Garden", 30)
    for day in (6, 7):
        a = await api.activity(pid, space["id"], title=f"Yoga {day}", capacity=25,
                               starts_at=f"2027-07-0{day}T08:00", ends_at=f"2027-07-0{day}T09:00")
        for i in range(30):
            r = await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"Guest {day}-{i}", "email": f"g{day}-{i}@example.org"})
            body = r.json()
            if body["status"] == "confirmed" and i % 5:
                await s["staff"].post("/api/checkins", {"code": body["ticket"]["code"]}, expect=200)
    big = await count(lambda: api.get(url, expect=200))
    page_big = await count(lambda: api.client.get(f"/programs/{pid}/report", headers={**api.h, "Accept": "text/html"}))
    rep = (await api.get(url, expect=200)).json()
    assert rep["people"] == 8 + 2 * 20 and rep["waitlist_unserved"] == 2 + 2 * 5
    assert big.sql == small.sql, (small.summary()["log"], big.summary()["log"])
    assert page_big.sql == page_small.sql
    assert 0 < big.sql <= MAX_SQL, big.summary()["log"]
    print(f"report: {big.sql} SQL statements; page: {page_big.sql}")
