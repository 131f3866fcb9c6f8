"""Required questions asked per plus-one: answered for each plus-one, on the API and in the form."""
from __future__ import annotations

import html
import re

from planner.fields import loads
from planner.rsvps.tables import Rsvp
from planner.scheduling.tables import Slot


async def _activity(api, setup, *, required=True) -> tuple[dict, dict, dict]:
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=10, max_guests=3)
    diet = (await api.post(f"/api/activities/{a['id']}/questions",
                           {"label": "Dietary needs", "required": required, "per_guest": True}, expect=201)).json()
    note = (await api.post(f"/api/activities/{a['id']}/questions", {"label": "Anything else"}, expect=201)).json()
    return a, diet, note


async def _post(client, a, guests, answers, email="ana@example.org"):
    return await client.post(f"/api/activities/{a['id']}/rsvps",
                             json={"name": "Ana", "email": email, "guests": guests, "answers": answers})


async def test_api_refuses_a_missing_answer_for_each_plus_one_and_names_it(api, setup, client):
    a, diet, note = await _activity(api, setup)
    d, n = str(diet["id"]), str(note["id"])
    cases = [
        # No entries at all for two plus-ones: plus-one 1 is the first one missing.
        ({d: "Vegan"}, 2, 1),
        # The first plus-one answered, the second not.
        ({d: "Vegan", "plus_ones": [{d: "None"}]}, 2, 2),
        # An entry present but blank, or with only an answer to another question.
        ({d: "Vegan", "plus_ones": [{d: "None"}, {d: "  "}]}, 2, 2),
        ({d: "Vegan", "plus_ones": [{}, {d: "None"}]}, 2, 1),
        ({d: "Vegan", "plus_ones": [{d: "None"}, {d: "Halal"}, {}]}, 3, 3),
    ]
    for answers, guests, missing in cases:
        r = await _post(client, a, guests, answers)
        assert r.status_code == 400, (answers, r.text)
        body = r.json()
        assert body["detail"] == f"Please answer “Dietary needs” for plus-one {missing}.", body
        assert body["extra"] == {"field": "answers", "question_id": diet["id"], "plus_one": missing}
    # Still refused: more entries than plus-ones, and a non-per-plus-one question in an entry.
    assert (await _post(client, a, 1, {d: "x", "plus_ones": [{d: "a"}, {d: "b"}]})).status_code == 400
    assert (await _post(client, a, 1, {d: "x", "plus_ones": [{n: "a"}]})).status_code == 400
    # The guest's own answer is required as before, and a blank one is not an answer.
    r = await _post(client, a, 0, {d: " "})
    assert r.status_code == 400 and r.json()["detail"] == "Please answer: Dietary needs"
    assert await Rsvp.count() == 0
    assert (await Slot.select(Slot.confirmed).first())["confirmed"] == 0

    # Answered for each plus-one: accepted, and stored one entry per plus-one, in order.
    ok = await _post(client, a, 2, {d: "Vegan", n: "", "plus_ones": [{d: "None"}, {d: "Halal"}]})
    assert ok.status_code == 201, ok.text
    row = await Rsvp.select(Rsvp.answers, Rsvp.guests).first()
    assert row["guests"] == 2
    stored = loads(row["answers"])
    assert stored["plus_ones"] == [{d: "None"}, {d: "Halal"}] and stored[d] == "Vegan"
    # Without plus-ones nothing is asked per plus-one.
    assert (await _post(client, a, 0, {d: "Vegan"}, email="bo@example.org")).status_code == 201


async def test_api_optional_per_plus_one_question_may_stay_unanswered(api, setup, client):
    a, diet, _note = await _activity(api, setup, required=False)
    r = await _post(client, a, 2, {"plus_ones": [{str(diet["id"]): "Vegan"}]})
    assert r.status_code == 201, r.text


async def test_api_refusal_is_in_the_guests_language(api, setup, client):
    a, diet, _note = await _activity(api, setup)
    r = await client.post(f"/api/activities/{a['id']}/rsvps", headers={"Accept-Language": "es"},
                          json={"name": "Ana", "email": "ana@example.org", "guests": 1, "answers": {str(diet["id"]): "Vegana"}})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "Dietary needs" in detail and "1" in detail and "Please answer" not in detail, detail


async def _form(client, a) -> str:
    page = await client.get(f"/a/{a['id']}", headers={"accept": "text/html"})
    assert page.status_code == 200
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


async def test_form_sends_one_answer_per_plus_one_and_shows_the_refusal_at_the_field(api, setup, client):
    a, diet, _note = await _activity(api, setup)
    q = diet["id"]
    page = await client.get(f"/a/{a['id']}", headers={"accept": "text/html"})
    # One field per plus-one the activity allows, marked for the script to require when shown.
    for n in (1, 2, 3):
        assert re.search(rf'<input id="pq{q}_{n}" name="pq{q}_{n}"\s+data-required', page.text), page.text
    tok = await _form(client, a)
    data = {"_csrf_token": tok, "name": "Ana", "email": "ana@example.org", "guests": "2", f"q{q}": "Vegan", f"pq{q}_1": "None"}
    r = await client.post(f"/a/{a['id']}", data=data, headers={"accept": "text/html"})
    assert r.status_code == 400
    text = html.unescape(r.text)
    # The sentence is next to plus-one 2's field, which is marked invalid and described by it...
    field = re.search(rf'<input id="pq{q}_2"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in field and f'aria-describedby="pq{q}_2-error"' in field
    assert re.search(rf'<p class="field-error" id="pq{q}_2-error">Please answer “Dietary needs” for plus-one 2.</p>', text)
    # ...the summary at the top links to it, and nothing else is marked.
    assert f'href="#pq{q}_2"' in r.text
    assert r.text.count("aria-invalid") == 1
    # What the guest typed is kept.
    assert re.search(rf'<input id="pq{q}_1"[^>]*value="None"', r.text)
    assert await Rsvp.count() == 0

    data[f"pq{q}_2"] = "Halal"
    data[f"pq{q}_3"] = "ignored: only two plus-ones"
    r = await client.post(f"/a/{a['id']}", data=data, headers={"accept": "text/html"})
    assert r.status_code == 303, r.text
    row = await Rsvp.select(Rsvp.answers).first()
    stored = loads(row["answers"])
    assert stored["plus_ones"] == [{str(q): "None"}, {str(q): "Halal"}]


async def test_form_guest_answer_refusal_sits_at_the_guests_own_field(api, setup, client):
    a, diet, _note = await _activity(api, setup)
    q = diet["id"]
    tok = await _form(client, a)
    r = await client.post(f"/a/{a['id']}", data={"_csrf_token": tok, "name": "Ana", "email": "ana@example.org", "guests": "0"},
                          headers={"accept": "text/html"})
    assert r.status_code == 400
    field = re.search(rf'<input id="q{q}"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in field
    assert f'id="q{q}-error"' in r.text and "Please answer: Dietary needs" in html.unescape(r.text)
