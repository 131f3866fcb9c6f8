"""What a guest tells when they RSVP: their name, their party, their answers to the organizers' questions."""
from __future__ import annotations

from typing import Any

from planner.errors import PlannerError, not_found
from planner.fields import loads
from planner.i18n import _l, _nl
from planner.programs.rules import require_role
from planner.rsvps.shapes import _int_id
from planner.rsvps.tables import Question
from planner.scheduling.tables import Activity


def _name(data: dict) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PlannerError("Please give a name.", extra={"field": "name"})
    name = " ".join(name.split())
    if len(name) > 200:
        raise PlannerError("The name can be at most 200 characters.", extra={"field": "name"})
    return name


def _guests(data: dict, max_guests: int) -> int:
    g = data.get("guests", 0)
    if g in (None, ""):
        g = 0
    if isinstance(g, bool):
        raise PlannerError("guests must be a whole number.", extra={"field": "guests"})
    try:
        g = int(g)
    except (TypeError, ValueError) as exc:
        raise PlannerError("guests must be a whole number.", extra={"field": "guests"}) from exc
    if g < 0:
        raise PlannerError("guests cannot be negative.", extra={"field": "guests"})
    if g > max_guests:
        if max_guests == 0:
            raise PlannerError("This activity does not allow plus-ones.", extra={"field": "guests"})
        raise PlannerError(_nl("You can bring at most {n} plus-one.", "You can bring at most {n} plus-ones.", max_guests), extra={"field": "guests"})
    return g


def validate_answers(questions: list[dict], answers: Any, guests: int) -> dict:
    if answers in (None, ""):
        answers = {}
    if not isinstance(answers, dict):
        raise PlannerError("answers must be an object of question id to answer.", extra={"field": "answers"})
    by_id = {str(q["id"]): q for q in questions}
    clean: dict[str, Any] = {}
    for key, value in answers.items():
        if key == "plus_ones":
            continue
        if key not in by_id:
            raise PlannerError(_l("There is no question {key} for this activity.", key=key), extra={"field": "answers"})
        clean[key] = _answer(by_id[key], value)
    for q in questions:
        if q["required"] and clean.get(str(q["id"])) in (None, ""):
            raise PlannerError(_l("Please answer: {question}", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    per_guest = [q for q in questions if q["per_guest"]]
    plus = answers.get("plus_ones") or []
    if not isinstance(plus, list) or len(plus) > guests:
        raise PlannerError("plus_ones answers must be a list with one entry per plus-one.", extra={"field": "answers"})
    ids = {str(q["id"]): q for q in per_guest}
    cleaned = []
    for entry in plus:
        if not isinstance(entry, dict):
            raise PlannerError("Each plus-one's answers must be an object.", extra={"field": "answers"})
        one = {}
        for key, value in entry.items():
            if key not in ids:
                raise PlannerError(_l("Question {key} is not asked per plus-one.", key=key), extra={"field": "answers"})
            one[key] = _answer(ids[key], value)
        cleaned.append(one)
    # A required question asked per plus-one needs an answer for each plus-one the guest brings
    # (answers["plus_ones"] holds one entry per plus-one, in order; a missing entry is unanswered).
    for n in range(1, guests + 1):
        one = cleaned[n - 1] if n <= len(cleaned) else {}
        for q in per_guest:
            if q["required"] and one.get(str(q["id"])) in (None, ""):
                raise PlannerError(_l("Please answer “{question}” for plus-one {n}.", question=q["label"], n=n),
                                   extra={"field": "answers", "question_id": q["id"], "plus_one": n})
    if cleaned:
        clean["plus_ones"] = cleaned
    return clean


def _answer(q: dict, value: Any) -> Any:
    kind = q["kind"]
    if kind == "yesno":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false", "on", "off"):
            return value.lower() in ("yes", "true", "on")
        raise PlannerError(_l("Answer yes or no to: {question}", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    if not isinstance(value, str):
        raise PlannerError(_l("The answer to “{question}” must be text.", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    value = value.strip()
    if kind == "choice":
        choices = loads(q["choices"]) or []
        if value not in choices:
            raise PlannerError(_l("Pick one of the offered answers to: {question}", question=q["label"]), extra={"field": "answers", "question_id": q["id"]})
    if len(value) > 2000:
        raise PlannerError("An answer can be at most 2,000 characters.", extra={"field": "answers"})
    return value



async def add_question(activity_id: Any, data: dict, *, user: dict | None) -> dict:
    a = await Activity.select(Activity.id, Activity.program).where(Activity.id == _int_id(activity_id)).first()
    if not a:
        raise not_found("That activity")
    await require_role(user, a["program"], "organizer")
    label = (data.get("label") or "").strip()
    if not label or len(label) > 300:
        raise PlannerError("A question needs a label of at most 300 characters.", extra={"field": "label"})
    kind = data.get("kind") or "text"
    if kind not in ("text", "choice", "yesno"):
        raise PlannerError("kind must be text, choice or yesno.", extra={"field": "kind"})
    choices = data.get("choices") or []
    if isinstance(choices, str):
        choices = [c.strip() for c in choices.split("\n") if c.strip()]
    if kind == "choice" and (not isinstance(choices, list) or len(choices) < 2):
        raise PlannerError("A choice question needs at least two choices.", extra={"field": "choices"})
    count = await Question.count().where(Question.activity == a["id"])
    q = Question(
        activity=a["id"], label=label, kind=kind, choices=choices if kind == "choice" else [],
        sensitive=bool(data.get("sensitive")), per_guest=bool(data.get("per_guest")),
        required=bool(data.get("required")), position=count,
    )
    await q.save()
    return question_out(q.to_dict())


def question_out(q: dict) -> dict:
    out = {k: q[k] for k in ("id", "label", "kind", "sensitive", "per_guest", "required", "position")}
    out["choices"] = loads(q["choices"]) or []
    return out


async def questions_for(activity_id: int) -> list[dict]:
    return [question_out(q) for q in await Question.select().where(Question.activity == activity_id).order_by(Question.position)]
