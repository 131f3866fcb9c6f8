"""A scripted programme for the report tests: RSVPs, waitlists, cancellations, walk-ins, check-ins with kits,
a residency, a dinner with a plus-one, and an erased guest. Built only through the public HTTP API.

`expected` holds the counts made here, step by step, independently of the report's queries.
"""
from __future__ import annotations

from tests.conftest import Api, make_user

GUESTS = {
    "alice": ("Alice Moreau", "alice.moreau@example.org"),
    "bob": ("Bob Okafor", "bob.okafor@example.org"),
    "carol": ("Carol Nguyen", "carol.nguyen@example.org"),
    "dan": ("Dan Szabo", "dan.szabo@example.org"),
    "erin": ("Erin Walsh", "erin.walsh@example.org"),
    "frank": ("Frank Ibarra", "frank.ibarra@example.org"),
    "gina": ("Gina Rossi", "gina.rossi@example.org"),
    "hugo": ("Hugo Lind", "hugo.lind@example.org"),
    "ivy": ("Ivy Achterberg", "ivy.achterberg@example.org"),
    "jane": ("Jane Kowalczyk", "jane.kowalczyk@example.org"),
}
WALKIN_NAMES = ["Walker Quinn", "Wren Obi"]


def token_of(rsvp: dict) -> str:
    return rsvp["manage_url"].split("token=", 1)[1]


async def staff_api(api: Api, client, program_id: int) -> Api:
    await make_user("staff@example.org", admin=False)
    await api.post(f"/api/programs/{program_id}/members", {"email": "staff@example.org", "role": "staff"}, expect=201)
    tok = (await client.post("/api/auth/token", json={"email": "staff@example.org", "password": "correct horse battery"})).json()["token"]
    return Api(client, tok)


async def build(api: Api, client, make_staff=None) -> dict:
    """`make_staff(program_id)` gives an Api of a staff member of the programme (by default a new account here)."""
    p = await api.program(name="Riverside Festival 2027", languages=["en", "es"])
    pid = p["id"]
    tent = await api.space(pid, "Wellness tent", 40)
    studio = await api.space(pid, "Studio B", 20)
    plugs = (await api.post(f"/api/programs/{pid}/items", {"name": "Earplugs"}, expect=201)).json()
    tea = (await api.post(f"/api/programs/{pid}/items", {"name": "Tea"}, expect=201)).json()
    kit = (await api.post(f"/api/programs/{pid}/kits", {"name": "Calm kit", "items": [
        {"item_id": plugs["id"], "quantity": 2}, {"item_id": tea["id"], "quantity": 1}]}, expect=201)).json()
    locations = (await api.get(f"/api/programs/{pid}/locations", expect=200)).json()
    shelf = next(x for x in locations if x.get("space_id") == tent["id"])
    await api.post(f"/api/programs/{pid}/stock/movements", {"item_id": kit["id"], "quantity": 50, "kind": "receive",
                                                            "location_id": shelf["id"]}, expect=201)
    staff = await (make_staff or (lambda program_id: staff_api(api, client, program_id)))(pid)
    rsvps: dict[str, dict] = {}

    async def rsvp(activity_id: int, who: str, expect_status: str, lang: str = "en", **kw) -> dict:
        name, email = GUESTS[who]
        r = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": name, "email": email, **kw},
                              headers={"Accept-Language": lang})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == expect_status, (who, body)
        return body

    async def scan(code: str, **kw) -> None:
        r = await staff.post("/api/checkins", {"code": code, **kw}, expect=200)
        assert r.json()["result"] == "admitted", r.json()

    # 1. Breathwork: 3 seats with a kit; two confirm (one with a plus-one), three wait, one cancels,
    #    the first in line is promoted, one leaves the waitlist, one stays on it.
    breath = await api.activity(pid, tent["id"], title="Breathwork", capacity=3, max_guests=1, kit_id=kit["id"],
                                starts_at="2027-07-02T10:00", ends_at="2027-07-02T11:00")
    rsvps["alice1"] = await rsvp(breath["id"], "alice", "confirmed", guests=1)
    rsvps["bob"] = await rsvp(breath["id"], "bob", "confirmed")
    rsvps["carol"] = await rsvp(breath["id"], "carol", "waitlisted", lang="es")
    rsvps["dan"] = await rsvp(breath["id"], "dan", "waitlisted")
    rsvps["erin"] = await rsvp(breath["id"], "erin", "waitlisted")
    await client.post(f"/api/rsvps/{rsvps['bob']['id']}/cancel", params={"token": token_of(rsvps["bob"])})
    r = await client.get(f"/api/rsvps/{rsvps['carol']['id']}", params={"token": token_of(rsvps["carol"])})
    carol = r.json()
    assert carol["status"] == "confirmed"
    await client.post(f"/api/rsvps/{rsvps['erin']['id']}/cancel", params={"token": token_of(rsvps["erin"])})
    await scan(rsvps["alice1"]["ticket"]["code"])   # party of 2: two kits
    await scan(carol["ticket"]["code"])

    # 2. Sound bath: four confirm, three come, two walk in (one with a plus-one); Frank comes, then erases his data.
    sound = await api.activity(pid, studio["id"], title="Sound bath", capacity=10, max_guests=1,
                               starts_at="2027-07-03T14:00", ends_at="2027-07-03T15:00")
    rsvps["alice2"] = await rsvp(sound["id"], "alice", "confirmed")
    rsvps["frank"] = await rsvp(sound["id"], "frank", "confirmed")
    rsvps["gina"] = await rsvp(sound["id"], "gina", "confirmed", lang="es")
    rsvps["hugo"] = await rsvp(sound["id"], "hugo", "confirmed")
    for key in ("alice2", "frank", "gina"):
        await scan(rsvps[key]["ticket"]["code"])
    await staff.post(f"/api/activities/{sound['id']}/walkins", {"name": WALKIN_NAMES[0], "guests": 1}, expect=201)
    await staff.post(f"/api/activities/{sound['id']}/walkins", {"name": WALKIN_NAMES[1]}, expect=201)

    # 3. A two-day residency by application: Ivy is approved and comes both days.
    res = await api.activity(pid, studio["id"], kind="residency", title="Songwriting residency", capacity=2, rsvp_mode="apply",
                             starts_at="2027-07-04T09:00", ends_at="2027-07-05T17:00")
    rsvps["ivy"] = await rsvp(res["id"], "ivy", "applied")
    await api.post(f"/api/rsvps/{rsvps['ivy']['id']}/approve", expect=200)
    ivy = (await client.get(f"/api/rsvps/{rsvps['ivy']['id']}", params={"token": token_of(rsvps["ivy"])})).json()
    for slot in res["slots"]:
        await scan(ivy["ticket"]["code"], slot_id=slot["id"])
    # Frank too, on the first day only.
    rsvps["frank_res"] = await rsvp(res["id"], "frank", "applied")
    await api.post(f"/api/rsvps/{rsvps['frank_res']['id']}/approve", expect=200)
    frank = (await client.get(f"/api/rsvps/{rsvps['frank_res']['id']}", params={"token": token_of(rsvps["frank_res"])})).json()
    await scan(frank["ticket"]["code"], slot_id=res["slots"][0]["id"])

    # 4. A dinner by invitation: Jane comes with a plus-one.
    dinner = await api.activity(pid, tent["id"], kind="dinner", title="Artists' dinner", capacity=6, rsvp_mode="invite",
                                max_guests=1, starts_at="2027-07-05T19:00", ends_at="2027-07-05T21:00")
    inv = (await api.post(f"/api/activities/{dinner['id']}/invitations", {"name": GUESTS["jane"][0], "email": GUESTS["jane"][1]},
                          expect=201)).json()
    rsvps["jane"] = await rsvp(dinner["id"], "jane", "confirmed", guests=1, invite_code=inv["invite_code"])
    await scan(rsvps["jane"]["ticket"]["code"])

    # 5. Frank, admitted twice, erases his data: he still counts, once.
    r = await client.post(f"/api/rsvps/{rsvps['frank']['id']}/erase", params={"token": token_of(rsvps["frank"])})
    assert r.status_code == 200, r.text

    # The counts, made by hand from the script above.
    per_activity = {
        breath["id"]: {"seats": 3, "confirmed": 2, "checked_in": 2, "no_shows": 0, "waitlist_unserved": 2, "kits_handed_out": 3,
                       "people": 2, "seats_taken": 3, "walk_ins": 0},
        sound["id"]: {"seats": 10, "confirmed": 6, "checked_in": 5, "no_shows": 1, "waitlist_unserved": 0, "kits_handed_out": 0,
                      "people": 5, "seats_taken": 7, "walk_ins": 2},
        res["id"]: {"seats": 2, "confirmed": 2, "checked_in": 3, "no_shows": 0, "waitlist_unserved": 0, "kits_handed_out": 0,
                    "people": 2, "seats_taken": 2, "walk_ins": 0},
        dinner["id"]: {"seats": 6, "confirmed": 1, "checked_in": 1, "no_shows": 0, "waitlist_unserved": 0, "kits_handed_out": 0,
                       "people": 1, "seats_taken": 2, "walk_ins": 0},
    }
    # alice (twice), carol, frank (twice, erased), gina, the two walk-ins, ivy, jane
    people = 8
    expected = {
        "people": people,
        "confirmed": sum(a["confirmed"] for a in per_activity.values()),
        "checked_in": sum(a["checked_in"] for a in per_activity.values()),
        "no_shows": 1,
        "waitlist_unserved": 2,
        "kits_handed_out": 3,
        "walk_ins": 2,
        "seats_taken": sum(a["seats_taken"] for a in per_activity.values()),
        "seats": 3 + 10 + 2 + 6,
        "residency_days_attended": 3,
        "items": {"Earplugs": 6, "Tea": 3},
        "activities": per_activity,
        "by_kind": {"activation": {"people": 6, "checked_in": 7}, "residency": {"people": 2, "checked_in": 3},
                    "dinner": {"people": 1, "checked_in": 1}},
        "by_day": {"2027-07-02": {"checked_in": 2, "kits": 3}, "2027-07-03": {"checked_in": 5}, "2027-07-04": {"checked_in": 2},
                   "2027-07-05": {"checked_in": 2}},
        "by_language_people": {"es": 2},
    }
    return {"program": p, "staff": staff, "rsvps": rsvps, "expected": expected,
            "activities": {"breath": breath, "sound": sound, "residency": res, "dinner": dinner}}
