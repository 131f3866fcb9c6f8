"""The scanner's offline judgement (static/js/scanner/pack.js) agrees with the server's: for each code, what the
page decides from the pack, and the slot it would send, give the same result when the server judges them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from planner.tickets.pack import code_hash
from tests.browser.conftest import _local, add_staff, rsvp, seed_running_activity

pytestmark = pytest.mark.browser

JUDGE = """async ([pack, activityId, chosen, codes]) => {
  // By URL, as the scanner page loads it: the Content-Security-Policy refuses inline scripts.
  const { Pack, hashCode } = await import("/static/js/scanner/pack.js");
  const P = new Pack({ key: "test", body: pack });
  const a = P.activities.get(activityId);
  const out = [];
  for (const code of codes) {
    const hash = await hashCode(code, P.hashBytes);
    const r = P.judge(hash, a, chosen, a.slots[0].id, Date.now(), []);
    out.push({ hash, result: r.result, slot_id: r.slot_id === undefined ? null : r.slot_id });
  }
  return out;
}"""


async def test_offline_judgement_matches_the_server(live_server, browser):
    tz = "Europe/Berlin"
    seeded = await seed_running_activity(live_server, title="Massage", slot_minutes=30, tz=tz)
    pid, massage = seeded["program"]["id"], seeded["activity"]
    first_slot, second_slot = massage["slots"][0]["id"], massage["slots"][1]["id"]
    now = datetime.now(timezone.utc)
    today = now.astimezone(ZoneInfo(tz)).date()
    async with live_server.api() as c:
        space = (await c.post(f"/api/programs/{pid}/spaces", json={"name": "Studio B", "capacity": 10})).json()
        other = (await c.post(f"/api/programs/{pid}/activities", json={
            "kind": "activation", "title": "Yoga", "space_id": space["id"], "capacity": 10, "rsvp_mode": "open",
            "starts_at": _local(now - timedelta(minutes=10), tz), "ends_at": _local(now + timedelta(minutes=50), tz)})).json()
        studio = (await c.post(f"/api/programs/{pid}/spaces", json={"name": "Studio C", "capacity": 10})).json()
        residency = (await c.post(f"/api/programs/{pid}/activities", json={
            "kind": "residency", "title": "Songwriting residency", "space_id": studio["id"], "capacity": 5, "rsvp_mode": "open",
            "starts_at": f"{today - timedelta(days=1)}T00:05", "ends_at": f"{today + timedelta(days=1)}T23:50"})).json()
    staff = await add_staff(live_server, pid, f"judge-{seeded['tag']}@example.org")
    t_first = await rsvp(live_server, massage["id"], "Ann First", slot_id=first_slot)
    t_second = await rsvp(live_server, massage["id"], "Ben Second", slot_id=second_slot)
    t_done = await rsvp(live_server, massage["id"], "Cleo Done", slot_id=first_slot)
    t_yoga = await rsvp(live_server, other["id"], "Dev Yoga")
    t_res = await rsvp(live_server, residency["id"], "Eve Resident")
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=staff["headers"]) as c:
        assert (await c.post("/api/checkins", json={"code": t_done["ticket"]["code"], "device": "Desk"})).json()["result"] == "admitted"
        pack = (await c.get("/api/scanner/pack", params={"program_id": pid})).json()
    assert {a["title"] for a in pack["activities"]} == {"Massage", "Yoga", "Songwriting residency"}

    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{live_server.base_url}/health")  # a secure context, for Web Crypto
        codes = [t["ticket"]["code"] for t in (t_first, t_second, t_done, t_yoga)] + ["no-such-ticket"]
        any_slot = await page.evaluate(JUDGE, [pack, massage["id"], None, codes])
        second_chosen = await page.evaluate(JUDGE, [pack, massage["id"], second_slot, [t_first["ticket"]["code"]]])
        at_residency = await page.evaluate(JUDGE, [pack, residency["id"], None, [t_res["ticket"]["code"], t_yoga["ticket"]["code"]]])
    finally:
        await context.close()

    assert [x["hash"] for x in any_slot[:4]] == [code_hash(c) for c in codes[:4]]
    assert [x["result"] for x in any_slot] == ["admitted", "admitted", "already_checked_in", "wrong_activity", "invalid"]
    assert second_chosen[0]["result"] == "wrong_activity"
    assert [x["result"] for x in at_residency] == ["admitted", "wrong_activity"]

    # The server, given the same codes and the slots the page would send, says the same.
    cases = list(zip(codes, any_slot)) + [(t_res["ticket"]["code"], at_residency[0]), (t_yoga["ticket"]["code"], at_residency[1]),
                                          (t_first["ticket"]["code"], second_chosen[0])]
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=staff["headers"]) as c:
        for code, local in cases:
            body = {"code": code, "device": "Judge"}
            if local["slot_id"] is not None:
                body["slot_id"] = local["slot_id"]
            server = (await c.post("/api/checkins", json=body)).json()
            assert server["result"] == local["result"], (code, local, server)
