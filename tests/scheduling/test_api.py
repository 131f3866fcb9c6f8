import asyncio

from planner.scheduling.tables import Activity, Slot


async def test_health_checks_database(client):
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


async def test_program_create_and_show(api):
    p = await api.program(languages=["en", "es"])
    assert p["timezone"] == "America/New_York" and p["languages"] == ["en", "es"]
    got = (await api.get(f"/api/programs/{p['id']}", expect=200)).json()
    assert got["name"] == "Riverside Festival 2027"


async def test_program_refuses_unknown_timezone_and_changes_nothing(api):
    r = await api.post("/api/programs", {"name": "X", "timezone": "Mars/Olympus", "country": "US", "starts_on": "2027-07-01", "ends_on": "2027-07-02"})
    assert r.status_code == 400
    assert "time zone" in r.json()["detail"]
    assert (await api.get("/api/programs/")).json() == []


async def test_program_refuses_end_before_start_and_bad_country(api):
    r = await api.post("/api/programs", {"name": "X", "timezone": "Europe/London", "country": "GB", "starts_on": "2027-07-05", "ends_on": "2027-07-01"})
    assert r.status_code == 400 and "end" in r.json()["detail"]
    r = await api.post("/api/programs", {"name": "X", "timezone": "Europe/London", "country": "XX", "starts_on": "2027-07-01", "ends_on": "2027-07-02"})
    assert r.status_code == 400 and "country" in r.json()["detail"]


async def test_missing_field_is_a_readable_400(api, setup):
    r = await api.post(f"/api/programs/{setup['program']['id']}/activities", {"kind": "activation", "title": "X"})
    assert r.status_code == 400
    assert "space_id" in r.json()["detail"] or "required" in r.json()["detail"].lower()
    assert await Activity.count() == 0


async def test_activity_create_returns_slots_in_programme_time(api, setup):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    assert a["slots"][0]["starts_at"] == "2027-07-02T10:00:00-04:00"
    assert a["slots"][0]["capacity"] == 10


async def test_timed_slots_are_generated(api, setup):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Massage", starts_at="2027-07-02T10:00",
                           ends_at="2027-07-02T12:00", capacity=1, slot_minutes=20)
    assert len(a["slots"]) == 6
    assert [s["starts_at"][11:16] for s in a["slots"]] == ["10:00", "10:20", "10:40", "11:00", "11:20", "11:40"]


async def test_residency_has_one_slot_a_day(api, setup):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], kind="residency", title="Songwriting week",
                           starts_at="2027-07-02T10:00", ends_at="2027-07-05T17:00", capacity=6, rsvp_mode="apply")
    assert len(a["slots"]) == 4
    assert all(s["starts_at"][11:16] == "10:00" and s["ends_at"][11:16] == "17:00" for s in a["slots"])


async def test_space_clash_names_the_activity_in_the_way(api, setup):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    first = await api.activity(pid, sid, title="Sound bath")
    r = await api.post(f"/api/programs/{pid}/activities", {
        "kind": "activation", "title": "Yoga", "space_id": sid, "starts_at": "2027-07-02T10:30",
        "ends_at": "2027-07-02T11:30", "capacity": 5})
    assert r.status_code == 409
    body = r.json()
    assert body["extra"]["activity"] == {"id": first["id"], "title": "Sound bath"}
    assert "Sound bath" in body["detail"]
    assert await Activity.count() == 1


async def test_turnover_buffer_counts_as_a_clash(api, setup):
    pid = setup["program"]["id"]
    room = await api.space(pid, "Private dining room", 12, turnover_minutes=30)
    await api.activity(pid, room["id"], title="Dinner one", starts_at="2027-07-02T18:00", ends_at="2027-07-02T20:00")
    await api.activity(pid, room["id"], title="Too soon", starts_at="2027-07-02T20:15", ends_at="2027-07-02T21:00", expect=409)
    await api.activity(pid, room["id"], title="After reset", starts_at="2027-07-02T20:30", ends_at="2027-07-02T21:00")


async def test_host_clash_and_unavailability(api, setup):
    pid, sid = setup["program"]["id"], setup["space"]["id"]
    other = await api.space(pid, "Studio B", 8)
    host = (await api.post(f"/api/programs/{pid}/hosts", {"name": "Dr. Ama Mensah"}, expect=201)).json()
    await api.activity(pid, sid, title="Grounding", host_ids=[host["id"]])
    r = await api.post(f"/api/programs/{pid}/activities", {"kind": "activation", "title": "Elsewhere", "space_id": other["id"],
                       "starts_at": "2027-07-02T10:30", "ends_at": "2027-07-02T11:30", "capacity": 5, "host_ids": [host["id"]]})
    assert r.status_code == 409 and r.json()["extra"]["clash"] == "host"
    await api.post(f"/api/hosts/{host['id']}/unavailability", {"starts_at": "2027-07-03T09:00", "ends_at": "2027-07-03T13:00", "note": "travel"}, expect=201)
    r = await api.post(f"/api/programs/{pid}/activities", {"kind": "activation", "title": "Morning", "space_id": other["id"],
                       "starts_at": "2027-07-03T10:00", "ends_at": "2027-07-03T11:00", "capacity": 5, "host_ids": [host["id"]]})
    assert r.status_code == 409 and "unavailable" in r.json()["detail"]


async def test_activity_outside_programme_dates_is_refused(api, setup):
    r = await api.activity(setup["program"]["id"], setup["space"]["id"], starts_at="2027-08-01T10:00", ends_at="2027-08-01T11:00", expect=400)
    assert "programme" in r["detail"]


async def test_foreign_programme_space_is_not_found(api, client, setup):
    from tests.conftest import Api, make_user

    await make_user("other@example.org", admin=True)
    tok = (await client.post("/api/auth/token", json={"email": "other@example.org", "password": "correct horse battery"})).json()["token"]
    other = Api(client, tok)
    theirs = await other.program(name="Other fest")
    r = await api.post(f"/api/programs/{setup['program']['id']}/activities", {"kind": "activation", "title": "X",
                       "space_id": (await other.space(theirs["id"]))["id"], "starts_at": "2027-07-02T10:00", "ends_at": "2027-07-02T11:00", "capacity": 3})
    assert r.status_code == 404
    # And the other organizer cannot see ours at all.
    assert (await other.get(f"/api/programs/{setup['program']['id']}")).status_code == 404
    assert await Activity.count() == 0


async def test_patch_raises_sequence_and_checks_capacity(api, setup):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=2)
    for i in range(2):
        await api.client.post(f"/api/activities/{a['id']}/rsvps", json={"name": f"G{i}", "email": f"g{i}@example.org"})
    r = await api.patch(f"/api/activities/{a['id']}", {"capacity": 1})
    assert r.status_code == 400 and "overbook_ok" in r.json()["detail"]
    r = await api.patch(f"/api/activities/{a['id']}", {"title": "Breathwork (moved)", "starts_at": "2027-07-02T14:00", "ends_at": "2027-07-02T15:00"}, expect=200)
    assert r.json()["sequence"] == 1 and r.json()["slots"][0]["starts_at"].startswith("2027-07-02T14:00")
    await api.patch(f"/api/activities/{a['id']}", {"capacity": 1, "overbook_ok": True}, expect=200)


async def test_cancel_activity(api, setup):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"])
    r = await api.post(f"/api/activities/{a['id']}/cancel", {"reason": "Storm warning"}, expect=200)
    assert r.json()["cancelled"] is True
    # The freed time can be booked again.
    await api.activity(setup["program"]["id"], setup["space"]["id"], title="Replacement")


async def test_members_and_roles(api, client, setup):
    from tests.conftest import Api, make_user

    await make_user("staff@example.org", admin=False)
    await api.post(f"/api/programs/{setup['program']['id']}/members", {"email": "staff@example.org", "role": "staff"}, expect=201)
    r = await api.post(f"/api/programs/{setup['program']['id']}/members", {"email": "nobody@example.org", "role": "staff"})
    assert r.status_code == 404
    tok = (await client.post("/api/auth/token", json={"email": "staff@example.org", "password": "correct horse battery"})).json()["token"]
    staff = Api(client, tok)
    assert (await staff.get(f"/api/programs/{setup['program']['id']}")).status_code == 200
    r = await staff.post(f"/api/programs/{setup['program']['id']}/spaces", {"name": "X", "capacity": 2})
    assert r.status_code == 403
    r = await staff.post("/api/programs", {"name": "Mine", "timezone": "UTC", "country": "US", "starts_on": "2027-01-01", "ends_on": "2027-01-02"})
    assert r.status_code == 403


async def test_unauthenticated_and_bad_token(client):
    assert (await client.get("/api/programs/1")).status_code == 401
    assert (await client.get("/api/programs/1", headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_twenty_concurrent_bookings_of_one_hour_one_wins(api, setup):
    pid, sid = setup["program"]["id"], setup["space"]["id"]

    async def book(i):
        return await api.client.post(f"/api/programs/{pid}/activities", headers=api.h, json={
            "kind": "activation", "title": f"Session {i}", "space_id": sid,
            "starts_at": "2027-07-04T15:00", "ends_at": "2027-07-04T16:00", "capacity": 5})

    results = await asyncio.gather(*[book(i) for i in range(20)])
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 19, codes
    assert await Activity.count() == 1
    assert await Slot.count() == 1


async def test_reads_see_writes_committed_under_concurrent_load(api, setup):
    """Every create answers with the row it just wrote, even with many requests interleaved."""
    pid = setup["program"]["id"]
    spaces = [await api.space(pid, f"Studio {i}", 4) for i in range(20)]

    async def make(i):
        s = spaces[i % 20]
        hour = 8 + (i // 20)
        return await api.client.post(f"/api/programs/{pid}/activities", headers=api.h, json={
            "kind": "activation", "title": f"Session {i}", "space_id": s["id"],
            "starts_at": f"2027-07-03T{hour:02d}:00", "ends_at": f"2027-07-03T{hour:02d}:45", "capacity": 3})

    results = await asyncio.gather(*[make(i) for i in range(240)])
    assert [r.status_code for r in results] == [201] * 240, [r.text for r in results if r.status_code != 201][:2]
