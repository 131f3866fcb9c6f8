from datetime import timedelta

from planner.clock import utcnow
from planner.fields import loads
from planner.privacy import purge_sensitive_answers
from planner.programs.tables import Program
from planner.rsvps.seats import counters_match_rows
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot


async def test_guest_downloads_and_erases_their_data(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1)
    q = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Access needs", "sensitive": True}, expect=201)).json()
    me = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ivy", "email": "ivy@example.org", "answers": {str(q["id"]): "quiet seat"}})).json()
    nxt = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Jo", "email": "jo@example.org"})).json()
    tok = me["manage_url"].split("token=")[1]
    data = (await client.get(f"/api/rsvps/{me['id']}/data", params={"token": tok})).json()
    assert data["rsvps"][0]["answers"] == {"Access needs": "quiet seat"} and data["rsvps"][0]["email"] == "ivy@example.org"
    assert (await client.get(f"/api/rsvps/{me['id']}/data", params={"token": "bad"})).status_code == 404
    assert (await client.post(f"/api/rsvps/{me['id']}/erase", params={"token": tok})).json() == {"status": "erased"}
    row = await Rsvp.select().where(Rsvp.id == me["id"]).first()
    assert row["name"] == "(erased)" and "ivy" not in row["email"] and loads(row["answers"]) == {} and row["status"] == "cancelled"
    # The freed seat went to the next in line.
    assert (await Rsvp.select(Rsvp.status).where(Rsvp.id == nxt["id"]).first())["status"] == "confirmed"
    slot = await Slot.select(Slot.id).where(Slot.activity == a["id"]).first()
    assert await counters_match_rows(slot["id"])


async def test_sensitive_answers_are_purged_after_the_programme(api, setup, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=3)
    q1 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Dietary needs", "sensitive": True}, expect=201)).json()
    q2 = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Favourite song"}, expect=201)).json()
    await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "K", "email": "k@example.org",
                      "answers": {str(q1["id"]): "vegan", str(q2["id"]): "Dreams"}})
    assert await purge_sensitive_answers(now=utcnow(), retention_days=30) == 0
    ends = (await Program.select(Program.ends_on).first())["ends_on"]
    assert await purge_sensitive_answers(now=utcnow().replace(year=ends.year, month=ends.month, day=ends.day) + timedelta(days=31), retention_days=30) == 1
    row = await Rsvp.select(Rsvp.answers).first()
    assert loads(row["answers"]) == {str(q2["id"]): "Dreams"}
