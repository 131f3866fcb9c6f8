"""Every guest in their own language: the catalogues, the choice of language, plurals, dates and errors.

The catalogues are planner/locale/<lang>/LC_MESSAGES/messages.po, kept up to date by scripts/i18n.sh.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from planner.i18n import EXTRACT_KEYWORDS, LANGUAGES, LOCALE_DIR, extract_seed
from planner.terms import TERMS, term

ROOT = Path(__file__).resolve().parent.parent
LANGS = [code for code in LANGUAGES if code != "en"]

# %(name)s, a bare %s / %d, a literal %% (newstyle gettext formats every {% trans %} string), {name}, and HTML tags.
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sd]|%[sd]|%%|\{[A-Za-z_][A-Za-z0-9_]*\}|</?[a-z]+>")


def catalogue(lang: str):
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def entries(lang: str):
    return [m for m in catalogue(lang) if m.id]


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def key(x):
    return x if isinstance(x, str) else tuple(x)


def extracted() -> set:
    """Every message the app can show, extracted the way the app asks for it at run time: Python (gettext, lazy
    texts, PlannerError and field labels), templates (newstyle gettext, as planner/templating.py installs it),
    JavaScript, and the seed support resources' names, descriptions and hours."""
    method_map = [
        ("templates/**.html", "jinja2"),
        ("planner/**.py", "python"),
        ("static/js/*.js", "javascript"),
        ("planner/resources/support_resources.json", extract_seed),
    ]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
    wanted = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options, keywords=EXTRACT_KEYWORDS):
        wanted.add(key(message))
    return wanted


@pytest.fixture(scope="module")
def wanted() -> set:
    return extracted()


def test_extraction_sees_python_templates_errors_and_seed(wanted):
    """The extractor finds each kind of source, so the completeness test below checks something."""
    assert "Reserve your place" in wanted                      # a template
    assert "Log in first." in wanted                          # PlannerError with a literal
    assert "{label} is required." in wanted                   # a lazy text with parameters
    assert "Time zone" in wanted                              # a field label passed to a rule's helper
    assert "That activity was not found." in wanted           # not_found()
    assert "Emergency services" in wanted                     # the seed support resources
    assert "Police, fire and ambulance." in wanted
    assert ("up to %(count)s plus-one", "up to %(count)s plus-ones") in wanted
    assert all(t.message in wanted for t in TERMS.values())   # kinds, statuses, units


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_covers_every_extracted_message(lang, wanted):
    """A new string anywhere fails here until scripts/i18n.sh has run and the string is translated."""
    have = {key(m.id) for m in entries(lang)}
    missing = sorted(map(str, wanted - have))
    assert not missing, f"not in the {lang} catalogue; run scripts/i18n.sh and translate: {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_has_no_missing_or_fuzzy_translation(lang):
    todo = []
    for m in entries(lang):
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if "fuzzy" in m.flags or not strings or not all(s.strip() for s in strings):
            todo.append(m.id)
    assert not todo, f"{len(todo)} untranslated or fuzzy in {lang}; run scripts/i18n.sh and translate: {todo[:10]}"


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_placeholders_survive_translation(lang):
    wrong = []
    for m in entries(lang):
        if isinstance(m.id, tuple):
            singular, plural = m.id
            forms = m.string
            # Form 0 is for one (and for French and Portuguese, zero); the rest take the plural's placeholders.
            pairs = [(singular, forms[0])] + [(plural, s) for s in forms[1:]]
        else:
            pairs = [(m.id, m.string)]
        for source, translated in pairs:
            if placeholders(source) != placeholders(translated):
                wrong.append((source, translated))
    assert not wrong, wrong


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_plural_forms_match_the_language(lang):
    cat = catalogue(lang)
    assert cat.num_plurals >= 2
    for m in entries(lang):
        if isinstance(m.id, tuple):
            assert len(m.string) == cat.num_plurals, m.id


def test_compiled_catalogue_is_current():
    """The .mo that ships is the .po as it stands (someone edited the .po without compiling, otherwise)."""
    from babel.messages.mofile import read_mo

    for lang in LANGS:
        with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
            mo = {key(m.id): key(m.string) for m in read_mo(f) if m.id}
        po = {key(m.id): key(m.string) for m in entries(lang)}
        assert mo == po, lang


# ---------------------------------------------------------------- choosing the language

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


async def test_guest_page_for_pt_br_is_portuguese_with_a_portuguese_date(setup, api, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True)
    r = await client.get(f"/a/{a['id']}", headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.8"})
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert '<html lang="pt">' in text
    assert "Reserve sua vaga" in text and "Seu nome" in text
    # 2027-07-02 10:00 in New York, written the Portuguese way by Babel.
    assert "sexta-feira, 2 de julho de 2027, 10:00" in text
    assert "Friday" not in text and "July" not in text


@pytest.mark.parametrize("header, lang", [
    ("de-AT,de;q=0.9", "de"), ("fr-CA", "fr"), ("en-GB,en;q=0.8,fr;q=0.5", "en"),
    ("ja,fr;q=0.3", "fr"), ("it;q=1.0, pt-PT;q=0.5", "pt"), ("es;q=0, de;q=0.2", "de"),
])
async def test_accept_language_is_negotiated_by_quality(setup, api, client, header, lang):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True)
    r = await client.get(f"/a/{a['id']}", headers={"Accept-Language": header})
    assert f'<html lang="{lang}">' in r.text


async def test_language_choice_is_remembered_in_a_cookie_over_accept_language(setup, api, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True)
    first = await client.get(f"/a/{a['id']}", params={"lang": "de"}, headers={"Accept-Language": "fr"})
    assert '<html lang="de">' in first.text
    assert "planner_lang=de" in first.headers.get("set-cookie", "")

    later = await client.get(f"/p/{setup['program']['id']}", headers={"Accept-Language": "fr"})
    assert '<html lang="de">' in later.text

    # A language we do not have is ignored, and the remembered one stays.
    odd = await client.get(f"/a/{a['id']}", params={"lang": "xx"}, headers={"Accept-Language": "fr"})
    assert '<html lang="de">' in odd.text and "set-cookie" not in odd.headers


async def test_language_switcher_on_guest_pages_keeps_the_token(setup, api, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True)
    body = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()
    path, query = body["manage_url"].split("testserver.local", 1)[1].split("?", 1)
    page = html.unescape((await client.get(f"{path}?{query}")).text)
    nav = re.search(r'<nav class="langs" aria-label="Language">(.*?)</nav>', page, re.S).group(1)
    for code, name in (("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch"), ("pt", "Português")):
        assert f'href="{path}?{query}&lang={code}" hreflang="{code}" lang="{code}"' in nav, code
        assert f">{name}</a>" in nav
    assert 'lang="en" aria-current="true"' in nav


async def test_programme_default_language_when_the_browser_matches_none(api, client):
    p = await api.program(languages=["fr", "en"])
    s = await api.space(p["id"])
    a = await api.activity(p["id"], s["id"], published=True)
    for headers in ({}, {"Accept-Language": "ja,zh;q=0.5"}):
        r = await client.get(f"/a/{a['id']}", headers=headers)
        assert '<html lang="fr">' in r.text, headers
        assert "Réservez votre place" in html.unescape(r.text)
    # The browser's own language still wins over the programme's default.
    r = await client.get(f"/a/{a['id']}", headers={"Accept-Language": "de"})
    assert '<html lang="de">' in r.text
    # An RSVP through the API with no language anywhere is kept in the programme's default.
    from planner.rsvps.tables import Rsvp

    body = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Zoé", "email": "zoe@example.org"})).json()
    assert (await Rsvp.select(Rsvp.language).where(Rsvp.id == body["id"]).first())["language"] == "fr"


async def test_guest_choice_on_their_page_is_used_for_every_later_email(setup, api, client):
    from planner.mail.render import render
    from planner.outbox.tables import OutboxMessage
    from planner.rsvps.tables import Rsvp

    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True, title="Atem")
    body = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Jonas", "email": "jonas@example.org"},
                              headers={"Accept-Language": "es"})).json()
    assert (await Rsvp.select(Rsvp.language).where(Rsvp.id == body["id"]).first())["language"] == "es"
    path, query = body["manage_url"].split("testserver.local", 1)[1].split("?", 1)
    page = await client.get(f"{path}?{query}&lang=de", headers={"Accept-Language": "es"})
    assert '<html lang="de">' in page.text
    assert (await Rsvp.select(Rsvp.language).where(Rsvp.id == body["id"]).first())["language"] == "de"

    client.cookies.clear()
    token = query.split("token=", 1)[1]
    r = await client.post(f"/api/rsvps/{body['id']}/cancel", params={"token": token}, headers={"Accept-Language": "fr"})
    assert r.status_code == 200, r.text
    row = await OutboxMessage.select().where(OutboxMessage.rsvp == body["id"]).order_by(OutboxMessage.id, ascending=False).first()
    mail = await render(row)
    assert mail.subject == "Abgesagt: Atem"
    assert mail.text.startswith("Hallo Jonas,") or mail.text.startswith("Hallo, Jonas")


# ---------------------------------------------------------------- plurals, dates, errors, words

PLUS_ONES = {
    "en": ("up to 1 plus-one", "up to 2 plus-ones"),
    "es": ("hasta 1 acompañante", "hasta 2 acompañantes"),
    "fr": ("jusqu'à 1 accompagnant", "jusqu'à 2 accompagnants"),
    "de": ("bis zu 1 Begleitperson", "bis zu 2 Begleitpersonen"),
    "pt": ("até 1 acompanhante", "até 2 acompanhantes"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_plurals_follow_each_language(setup, api, client, lang):
    one = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True, max_guests=1)
    two = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True, max_guests=2,
                             starts_at="2027-07-03T10:00", ends_at="2027-07-03T11:00")
    singular, plural = PLUS_ONES[lang]
    page_one = html.unescape((await client.get(f"/a/{one['id']}", params={"lang": lang})).text)
    page_two = html.unescape((await client.get(f"/a/{two['id']}", params={"lang": lang})).text)
    assert singular in page_one and plural not in page_one
    assert plural in page_two
    assert "up to 1 plus-ones" not in page_one and "hasta 1 acompañantes" not in page_one

    # The refusal counts the same way, in the same language.
    r = await client.post(f"/api/activities/{one['id']}/rsvps", json={"name": "A", "email": "a@example.org", "guests": 3},
                          headers={"Accept-Language": lang})
    assert r.status_code == 400
    expected = {"en": "at most 1 plus-one.", "es": "como máximo 1 acompañante.", "fr": "avec 1 accompagnant au plus.",
                "de": "höchstens 1 Begleitperson mitbringen.", "pt": "no máximo 1 acompanhante."}[lang]
    assert r.json()["detail"].endswith(expected), r.json()["detail"]


async def test_error_messages_speak_the_request_language_with_their_parameters(api, client):
    body = {"name": "", "timezone": "Mars/Olympus", "country": "US", "starts_on": "2027-07-01", "ends_on": "2027-07-07"}
    for lang, words in (("es", "Nombre: campo obligatorio."), ("de", "Name: Pflichtangabe."), ("en", "Name is required.")):
        r = await client.post("/api/programs", json=body, headers={**api.h, "Accept-Language": lang})
        assert r.status_code == 400 and r.json()["detail"] == words, r.text
    body["name"] = "Festa"
    r = await client.post("/api/programs", json=body, headers={**api.h, "Accept-Language": "pt-BR"})
    assert r.json()["detail"].startswith("“Mars/Olympus” não é um fuso horário IANA conhecido")
    r = await client.get("/api/activities/999999/rsvps", headers={**api.h, "Accept-Language": "fr"})
    assert r.status_code == 404 and r.json()["detail"] == "Cette activité est introuvable."


async def test_support_resources_are_shown_in_the_guests_language(setup, api, client):
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True)
    page = html.unescape((await client.get(f"/a/{a['id']}", params={"lang": "es"})).text)
    assert "Servicios de emergencia" in page and "Policía, bomberos y ambulancia." in page
    assert "988 Suicide &amp; Crisis Lifeline" in (await client.get(f"/a/{a['id']}", params={"lang": "es"})).text
    page = html.unescape((await client.get(f"/a/{a['id']}", params={"lang": "de"})).text)
    assert "Notruf" in page and "Unterstützung, jederzeit" in page and "Emergency services" not in page


@pytest.mark.parametrize("value, lang, words", [
    ("activation", "es", "activación"), ("Warehouse", "es", "Almacén"), ("piece", "es", "unidad"),
    ("Warehouse", "de", "Lager"), ("residency", "fr", "résidence"), ("waitlisted", "pt", "na lista de espera"),
    ("Tent shelf", "fr", "Tent shelf"),
])
def test_stored_words_are_translated_and_organizers_own_are_kept(value, lang, words):
    from planner.i18n import use

    use(lang, "asked")
    try:
        assert term(value) == words
    finally:
        use("en", "default")


async def test_organizer_pages_show_kinds_and_units_in_spanish(setup, api, client):
    from tests.scheduling.test_pages import login

    a = await api.activity(setup["program"]["id"], setup["space"]["id"], published=True, kind="residency",
                           starts_at="2027-07-02T10:00", ends_at="2027-07-04T17:00")
    await api.post(f"/api/programs/{setup['program']['id']}/items", {"name": "Tapones"}, expect=201)
    await login(client)
    manage = html.unescape((await client.get(f"/activities/{a['id']}/manage", params={"lang": "es"})).text)
    assert '<html lang="es">' in manage and " · residencia · " in manage
    stock = html.unescape((await client.get(f"/programs/{setup['program']['id']}/stock")).text)
    assert "Almacén" in stock and "Warehouse" not in stock
    assert ">unidad<" in stock.replace(" ", "") or "unidad" in stock


async def test_framework_refusals_are_translated_too(client):
    """A form sent without its CSRF token is refused in the guest's language, on a page that says so."""
    r = await client.post("/login", data={"email": "x@example.org"}, headers={"Accept-Language": "de", "Accept": "text/html"})
    assert r.status_code == 403
    assert '<html lang="de">' in r.text
    assert "Dieses Formular ist abgelaufen. Lade die Seite neu und versuch es noch einmal." in html.unescape(r.text)


def test_numbers_and_dates_use_each_languages_own_way():
    from datetime import date

    from planner.i18n import format_date, format_number

    assert [format_number(12345, lang) for lang in LANGUAGES] == ["12,345", "12.345", "12\u202f345", "12.345", "12.345"]
    assert format_date(date(2027, 7, 2), lang="pt") == "sexta-feira, 2 de julho de 2027"
    assert format_date(date(2027, 7, 2), lang="de") == "Freitag, 2. Juli 2027"
    assert format_date(date(2027, 7, 2), lang="fr") == "vendredi 2 juillet 2027"


async def test_invitation_email_speaks_the_programmes_default_language(api, client):
    from planner.mail.render import render
    from planner.outbox.tables import OutboxMessage

    p = await api.program(languages=["pt", "en"], country="BR", timezone="America/Sao_Paulo")
    s = await api.space(p["id"])
    a = await api.activity(p["id"], s["id"], kind="dinner", rsvp_mode="invite", title="Jantar")
    await api.post(f"/api/activities/{a['id']}/invitations", {"name": "Rita", "email": "rita@example.org"}, expect=201)
    row = await OutboxMessage.select().where(OutboxMessage.kind == "invitation").order_by(OutboxMessage.id, ascending=False).first()
    mail = await render(row)
    assert mail.subject == "Você foi convidado: Jantar"
    assert mail.text.startswith("Olá, Rita,")


def test_every_error_message_can_be_translated():
    """A PlannerError built from an f-string cannot be looked up in a catalogue: use a literal, or
    _l("... {name} ...", name=...) so the words are translated and the values put in afterwards."""
    from planner.errors import NOT_FOUND

    bad, unknown = [], []
    for path in sorted((ROOT / "planner").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"PlannerError\(\s*f[\"']|_l\(\s*f[\"']|\"error\":\s*f[\"']", text):
            bad.append(f"{path.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}")
        for m in re.finditer(r"not_found\(\s*\"([^\"]+)\"\s*\)", text):
            if m.group(1) not in NOT_FOUND:
                unknown.append(f"{path.relative_to(ROOT)}: not_found({m.group(1)!r})")
    assert not bad, f"untranslatable messages (f-strings): {bad}"
    assert not unknown, f"add these to planner.errors.NOT_FOUND as whole sentences: {unknown}"


def test_templates_translate_only_literal_text():
    """`_(some_variable)` in a template is never extracted, so its words would silently stay English:
    translate the literal where it is written (`_('Declined')`) instead."""
    dynamic = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"(?<![\w.])(_|gettext|ngettext)\(\s*[A-Za-z_]", line):
                dynamic.append(f"{path.relative_to(ROOT)}:{n}")
    assert not dynamic, dynamic


# ---------------------------------------------------------------- the switcher on every guest page

def _switcher(page: str) -> list[tuple[str, str]]:
    found = re.search(r'<nav class="langs" aria-label="[^"]+">(.*?)</nav>', page, re.S)
    assert found, "no language switcher"
    return re.findall(r'<a href="([^"]+)" hreflang="([a-z]+)"', html.unescape(found.group(1)))


def _csrf(page: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)


async def test_every_guest_page_has_a_switcher_whose_links_work_and_are_remembered(setup, api, client):
    """Each page a guest can land on, also those that answer a form, offers the five languages; following
    a link shows that page in the language (never a 404 or 405), and the choice then holds on the next page."""
    pid = setup["program"]["id"]
    a = await api.activity(pid, setup["space"]["id"], published=True)
    d = await api.activity(pid, setup["space"]["id"], kind="dinner", rsvp_mode="invite", title="Table",
                           starts_at="2027-07-03T19:00", ends_at="2027-07-03T21:00")
    inv = (await api.post(f"/api/activities/{d['id']}/invitations", {"name": "Maya", "email": "maya@example.org"}, expect=201)).json()
    ana = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"})).json()
    ben = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ben", "email": "ben@example.org"})).json()
    ana_url = ana["manage_url"].split("testserver.local", 1)[1]
    ben_url = ben["manage_url"].split("testserver.local", 1)[1]

    pages: dict[str, tuple[str, str]] = {}  # name -> (the address the page was reached at, its HTML)
    for name, url in (("activity", f"/a/{a['id']}"), ("invited", f"/a/{d['id']}?invite={inv['invite_code']}"),
                      ("guest", ana_url), ("cancel", ana_url.replace("?", "/cancel?", 1)), ("programme", f"/p/{pid}"),
                      ("help", f"/help?program={pid}"), ("help-country", "/help/US"), ("login", "/login"),
                      ("reset", "/account/reset"), ("not-found", "/a/987654321")):
        r = await client.get(url, headers={"Accept": "text/html"})
        assert r.status_code == (404 if name == "not-found" else 200), (name, r.status_code)
        pages[name] = (url, r.text)
    # Pages that answer a form: "check your e-mail", a message to the care team, the erased page.
    tok = _csrf(pages["activity"][1])
    r = await client.post(f"/a/{a['id']}", data={"_csrf_token": tok, "name": "Ana", "email": "ana@example.org", "guests": "0"})
    assert r.status_code == 200 and "/r/" not in r.text.split("<main", 1)[1].split("</main>")[0], r.text[:300]
    pages["check-email"] = (f"/a/{a['id']}", r.text)
    r = await client.post(f"/p/{pid}/care", data={"_csrf_token": tok, "message": "Hello"})
    assert r.status_code == 200, r.text[:300]
    pages["care-sent-public"] = (f"/p/{pid}/care", r.text)
    r = await client.post(ana_url.replace("?", "/care?", 1), data={"_csrf_token": tok, "message": "Hello"})
    assert r.status_code == 200, r.text[:300]
    pages["care-sent-guest"] = (ana_url.replace("?", "/care?", 1), r.text)
    r = await client.post(ben_url.replace("?", "/erase?", 1), data={"_csrf_token": tok})
    assert r.status_code == 200, r.text[:300]
    pages["erased"] = (ben_url.replace("?", "/erase?", 1), r.text)

    broken = []
    for name, (_url, text) in pages.items():
        links = _switcher(text)
        assert [code for _, code in links] == list(LANGUAGES), name
        for href, code in links:
            if code != "pt":
                continue
            r = await client.get(href, headers={"Accept": "text/html", "Accept-Language": "en"})
            if r.status_code != (404 if name == "not-found" else 200) or '<html lang="pt">' not in r.text:
                broken.append((name, href, r.status_code))
    assert not broken, broken
    # Remembered: the next page, with no ?lang= and an English browser, is still in Portuguese.
    r = await client.get(f"/p/{pid}", headers={"Accept-Language": "en"})
    assert '<html lang="pt">' in r.text
    client.cookies.clear()


async def test_language_picked_on_the_page_before_rsvp_is_used_for_every_later_mail(setup, api, client):
    """A guest picks French with the switcher, RSVPs through the form from an English browser, and every mail
    after that (confirmation, seat offered from the waitlist, time changed by the organizer, reminder,
    the organizer's message, cancellation) reaches a real SMTP server in French, whoever's request set it off."""
    import dataclasses
    from datetime import UTC, datetime, timedelta
    from email.header import decode_header, make_header

    from planner.mail.worker import run_once
    from planner.rsvps.messages import send_due_reminders
    from planner.rsvps.tables import Rsvp
    from planner.settings import get_settings
    from tests.mail.smtp import start
    from tests.scheduling.test_pages import form_token, login

    ctl, inbox = start()
    try:
        settings = dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=ctl.port, smtp_tls="none")

        async def drain(now):
            while any((await run_once(settings, now=now)).values()):
                pass

        pid = setup["program"]["id"]
        a = await api.activity(pid, setup["space"]["id"], published=True, capacity=1, title="Souffle")
        ana = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ana", "email": "ana@example.org"},
                                 headers={"Accept-Language": "en"})).json()
        page = await client.get(f"/a/{a['id']}", params={"lang": "fr"}, headers={"Accept-Language": "en"})
        assert '<html lang="fr">' in page.text
        r = await client.post(f"/a/{a['id']}", data={"_csrf_token": _csrf(page.text), "name": "Zoé", "email": "zoe@example.org",
                                                    "guests": "0"}, headers={"Accept-Language": "en"})
        assert r.status_code == 303, r.text[:300]
        zoe = await Rsvp.select(Rsvp.id, Rsvp.language, Rsvp.status).where(Rsvp.email == "zoe@example.org").first()
        assert (zoe["language"], zoe["status"]) == ("fr", "waitlisted")
        client.cookies.clear()
        start_at = datetime(2027, 7, 2, 14, 30, tzinfo=UTC)
        await drain(start_at - timedelta(days=5))

        # Ana's cancellation (in English) moves Zoé up; the organizer (in English) moves the activity.
        r = await client.post(f"/api/rsvps/{ana['id']}/cancel", params={"token": ana["manage_url"].split("token=")[1]},
                              headers={"Accept-Language": "en"})
        assert r.status_code == 200, r.text
        assert (await Rsvp.select(Rsvp.status).where(Rsvp.id == zoe["id"]).first())["status"] == "confirmed"
        await drain(start_at - timedelta(days=4))
        r = await client.patch(f"/api/activities/{a['id']}", json={"starts_at": "2027-07-02T10:30", "ends_at": "2027-07-02T11:30"},
                               headers={**api.h, "Accept-Language": "en"})
        assert r.status_code == 200, r.text
        await drain(start_at - timedelta(days=3))
        assert await send_due_reminders(now=start_at - timedelta(hours=24)) == 1
        await drain(start_at - timedelta(hours=24))
        await login(client)
        tok = await form_token(client, f"/activities/{a['id']}/message")
        r = await client.post(f"/activities/{a['id']}/message", data={"_csrf_token": tok, "audience": "confirmed", "subject": "Studio B",
                                                                     "message": "We moved.", "confirmed": "yes"},
                              headers={"Accept-Language": "en"})
        assert r.status_code == 303, r.text[:300]
        await drain(start_at - timedelta(hours=23, minutes=30))
        r = await client.post(f"/api/activities/{a['id']}/cancel", headers={**api.h, "Accept-Language": "en"})
        assert r.status_code in (200, 202), r.text
        await drain(start_at - timedelta(hours=23))

        got = [m for m in inbox.messages if m["To"] == "zoe@example.org"]
        kinds = [str(make_header(decode_header(m["Subject"]))) for m in got]
        assert len(got) >= 6, kinds
        for m in got:
            assert m["Content-Language"] == "fr", (m["Subject"], m["Content-Language"])
            plain = next(p for p in m.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
            assert plain.startswith("Bonjour Zoé,"), (m["Subject"], plain[:80])
        assert "Rappel" in " ".join(kinds) and "Studio B" in kinds and any(k.startswith("Mis à jour") for k in kinds)
        assert any(k.startswith("Annulé") for k in kinds) and any("liste d'attente" in k for k in kinds)
    finally:
        ctl.stop()


async def test_german_guest_on_a_us_programme_has_911_and_988_one_tap_away_in_german_on_every_guest_page(setup, api, client):
    """At the top of each guest page, before anything else: the US crisis line and emergency number as
    tel: links, with German words around them; the full list further down, its names and hours in German."""
    pid = setup["program"]["id"]
    a = await api.activity(pid, setup["space"]["id"], published=True)
    body = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Jonas", "email": "jonas@example.org"},
                              headers={"Accept-Language": "de-DE,de;q=0.9"})).json()
    guest = body["manage_url"].split("testserver.local", 1)[1]
    for url in (f"/a/{a['id']}", guest, f"/p/{pid}"):
        page = html.unescape((await client.get(url, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})).text)
        assert '<html lang="de">' in page, url
        top = page[page.index('<p class="crisis-bar">'):]
        top = top[:top.index("</p>")]
        assert "Musst du jetzt mit jemandem reden?" in top, url
        assert 'href="tel:988">Ruf 988 an' in top or 'href="tel:988">' in top, top
        assert 'href="tel:911">Notruf 911</a>' in top, top
        assert page.index('<p class="crisis-bar">') < page.index("<h1"), url  # before anything else on the page
        rest = page[page.index('id="support-heading"'):]
        assert "Notruf" in rest and 'href="tel:911"' in rest and 'href="tel:988"' in rest and "Emergency services" not in rest
    client.cookies.clear()


async def test_crisis_bar_names_a_lone_emergency_number_in_the_guests_language(api, client):
    """Italy has only its emergency number: the bar calls it, and the name read out to screen readers is German."""
    p = await api.program(country="IT", timezone="Europe/Rome")
    s = await api.space(p["id"])
    a = await api.activity(p["id"], s["id"], published=True)
    page = html.unescape((await client.get(f"/a/{a['id']}", params={"lang": "de"})).text)
    top = page[page.index('<p class="crisis-bar">'):]
    top = top[:top.index("</p>")]
    assert 'href="tel:112"' in top and "(Notruf)" in top and "Emergency services" not in top, top
    assert top.count('href="tel:') == 1  # the emergency number once, not twice
    client.cookies.clear()
