"""Guests' strings in Spanish: the pages, the catalogue itself, and the guest emails.

The catalogue is planner/locale/es/LC_MESSAGES/messages.po, kept up to date by scripts/i18n.sh.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from planner.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
LANGS = ["es"]

# %(name)s, a bare %s / %d, a literal %% (newstyle gettext formats every {% trans %} string), {name}, and HTML tags.
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sd]|%[sd]|%%|\{[A-Za-z_][A-Za-z0-9_]*\}|</?[a-z]+>")


def catalogue(lang: str):
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def entries(lang: str):
    return [m for m in catalogue(lang) if m.id]


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


async def test_activity_page_follows_accept_language_and_lang_param(setup, api, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True)

    es = await client.get(f"/a/{a['id']}", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert es.status_code == 200
    assert '<html lang="es">' in es.text
    assert "Reserva tu lugar" in es.text and ">Reservar</button>" in es.text
    assert "Reserve your place" not in es.text

    en = await client.get(f"/a/{a['id']}", params={"lang": "en"}, headers={"Accept-Language": "es"})
    assert en.status_code == 200
    assert '<html lang="en">' in en.text
    assert "Reserve your place" in en.text and ">Reserve</button>" in en.text
    assert "Reserva tu lugar" not in en.text

    # Strings with a variable are translated too.
    public = await client.get(f"/p/{setup['program']['id']}", params={"lang": "es"})
    assert "horas en America/New_York" in public.text


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang):
    todo = []
    for m in entries(lang):
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if "fuzzy" in m.flags or not all(s.strip() for s in strings):
            todo.append(m.id)
    assert not todo, f"{len(todo)} untranslated or fuzzy in {lang}; run scripts/i18n.sh and translate: {todo[:10]}"


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_survive_translation(lang):
    wrong = []
    for m in entries(lang):
        if isinstance(m.id, tuple):
            singular, plural = m.id
            forms = m.string
            # Spanish has two forms: [0] for one, [1] for the rest.
            pairs = [(singular, forms[0])] + [(plural, s) for s in forms[1:]]
        else:
            pairs = [(m.id, m.string)]
        for source, translated in pairs:
            if placeholders(source) != placeholders(translated):
                wrong.append((source, translated))
    assert not wrong, wrong


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_covers_every_string_as_asked_at_run_time(lang):
    """Every {% trans %} in templates/ and every _() in planner/, extracted the way the app asks for them
    (newstyle gettext, as planner/templating.py installs it), is in the catalogue. A new string fails here
    until scripts/i18n.sh has run and the string is translated."""
    from babel.messages.extract import extract_from_dir

    method_map = [("templates/**.html", "jinja2"), ("planner/**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
    wanted = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        wanted.add(message if isinstance(message, str) else tuple(message))
    have = {(m.id if isinstance(m.id, str) else tuple(m.id)) for m in entries(lang)}
    missing = sorted(map(str, wanted - have))
    assert not missing, f"not in the {lang} catalogue; run scripts/i18n.sh and translate: {missing}"


def test_compiled_catalogue_is_current():
    """The .mo that ships is the .po as it stands (someone edited the .po without compiling, otherwise)."""
    from babel.messages.mofile import read_mo

    for lang in LANGS:
        with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
            mo = {key(m.id): key(m.string) for m in read_mo(f) if m.id}
        po = {key(m.id): key(m.string) for m in entries(lang)}
        assert mo == po


def key(x):
    return x if isinstance(x, str) else tuple(x)


async def rsvp_email(client, activity_id: int, name: str, email: str, lang: str):
    from planner.mail.render import render
    from planner.mail.tables import OutboxMessage
    from planner.rsvps.tables import Rsvp

    r = await client.post(f"/api/activities/{activity_id}/rsvps", json={"name": name, "email": email},
                          headers={"Accept-Language": lang})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (await Rsvp.select(Rsvp.language).where(Rsvp.id == body["id"]).first())["language"] == lang
    row = await OutboxMessage.select().where(OutboxMessage.rsvp == body["id"]).order_by(OutboxMessage.id, ascending=False).first()
    return body, await render(row)


async def test_guest_email_is_in_the_guests_language(setup, api, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], capacity=1, title="Respiración")

    body, mail = await rsvp_email(client, a["id"], "Lucía Pérez", "lucia@example.org", "es")
    assert body["status"] == "confirmed"
    assert mail.subject == "Tu lugar está confirmado: Respiración"
    assert mail.text.startswith("Hola, Lucía Pérez:\n")
    assert "Tu lugar está confirmado. Tu entrada y la invitación de calendario están en tu página." in mail.text
    assert "Tu página (no compartas este enlace): http" in mail.text

    # Full now: the waitlist message carries its position through the translation.
    body, mail = await rsvp_email(client, a["id"], "Mateo Ruiz", "mateo@example.org", "es")
    assert body["status"] == "waitlisted"
    assert mail.subject == "Estás en la lista de espera de Respiración"
    assert "en el puesto 1." in mail.text

    # An English guest of the same activity still gets English.
    _, mail = await rsvp_email(client, a["id"], "Ann Lee", "ann@example.org", "en")
    assert mail.subject == "You're on the waitlist for Respiración"
