"""Mail to staff and organizers (password reset, team invitations, low-stock alerts) speaks the programme's
language: received by a real SMTP server, parsed strictly, with not one English sentence on a Spanish
programme, and word for word the English mail on an English one.

Accounts keep no language of their own, so each mail takes the programme's default; a password reset
asked from a page in a chosen language speaks that language.
"""
from __future__ import annotations

import dataclasses
import email
import email.policy
import re

import pytest

from planner.mail.worker import run_once
from planner.settings import get_settings
from tests.accounts.helpers import client_from, form_token
from tests.conftest import make_user
from tests.inventory.helpers import inventory, item, move
from tests.mail.smtp import start

STRICT = email.policy.default.clone(raise_on_defect=True)
BASE = "http://testserver.local"

# The English source sentences of these mails (as in the code), cut at their placeholders.
ENGLISH = [
    "Reset your planner password", "Someone asked to reset the password of your planner account.",
    "Choose a new password here (the link works once, within the hour):",
    "If it was not you, ignore this message: your password stays as it is.",
    "You're invited to {programme}", "You're on the team of {programme}",
    "{inviter} invited you to the team of {programme} as {role}.",
    "{inviter} added you to the team of {programme} as {role}.",
    "Choose your password here (the link works once, for {n} days):", "If you did not expect this, you can ignore this message.",
    "Log in as usual: {url}", "Low stock: {item} ({n} left) · {programme}",
    "{item} is down to {count} across all locations of {programme} (the alert is set at {line}).",
    "Where it is: {places}.", "Order or move more before the next hand-outs: {url}",
]
ENGLISH_WORDS = re.compile(r"\b(the|your|you|You're|password|team|invited|added|left|stock|Low|Choose|link|hour|days?|"
                           r"ignore|Where|Order|Someone|usual|staff|pieces?|Warehouse|alert|across)\b")


def fragments() -> set[str]:
    pieces = set()
    for sentence in ENGLISH:
        for piece in re.split(r"\{[a-z_]+\}", sentence):
            piece = piece.strip(" .,:!?()·\n")
            if len(piece) >= 5:
                pieces.add(piece)
    return pieces


@pytest.fixture
def smtp():
    controller, inbox = start()
    yield controller, inbox
    controller.stop()


async def deliver(port: int) -> None:
    settings = dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
    for _ in range(20):
        counts = await run_once(settings)
        assert counts["failed"] == 0
        if not any(counts.values()):
            return
    raise AssertionError("the outbox never drained")


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


async def staff_mails(app, api, smtp, *, languages: list[str], name: str, space: str, item_name: str) -> dict:
    """One of each: a reset asked on the web form, an invitation of a new person and of a known account, a
    low-stock alert. Returns the strictly parsed messages by what they are."""
    controller, inbox = smtp
    p = await api.program(name=name, languages=languages)
    s = await api.space(p["id"], space)
    inv = await inventory(api, {"program": p, "space": s})
    await make_user("known@example.org", admin=False)

    async with client_from(app, "198.51.100.7") as browser:
        tok = await form_token(browser, "/account/reset")
        r = await browser.post("/account/reset", data={"_csrf_token": tok, "email": "organizer@example.org"})
        assert r.status_code == 200, r.text
    await api.post(f"/api/programs/{p['id']}/members/invite", {"email": "new@example.org", "role": "staff"}, expect=201)
    await api.post(f"/api/programs/{p['id']}/members/invite", {"email": "known@example.org", "role": "staff"}, expect=201)
    plugs = await item(api, p["id"], item_name, low_stock_at=5)
    await move(api, p["id"], item_id=plugs["id"], quantity=10, kind="receive")
    await move(api, p["id"], item_id=plugs["id"], quantity=3, kind="transfer", to_location_id=inv["shelf"])
    await move(api, p["id"], item_id=plugs["id"], quantity=5, kind="hand_out")  # 5 left in all: crosses the line
    await deliver(controller.port)

    messages = [email.message_from_bytes(raw, policy=STRICT) for raw in inbox.raw]  # raises on any defect
    for m in messages:
        for part in m.walk():  # every part decodes without a defect too
            if not part.is_multipart():
                part.get_content()
    assert len(messages) == 4, [m["Subject"] for m in messages]
    by_to = {m["To"]: m for m in messages}
    low = [m for m in messages if "/stock" in text_of(m)]
    reset = [m for m in messages if m["To"] == "organizer@example.org" and "set-password" in text_of(m)]
    assert len(low) == 1 and len(reset) == 1
    return {"reset": reset[0], "invited": by_to["new@example.org"], "added": by_to["known@example.org"], "low": low[0],
            "program": p}


def readable(message) -> str:
    """Subject and text, without the links (a URL's path is not a sentence)."""
    return re.sub(r"https?://\S+", "", f"{message['Subject']}\n{text_of(message)}")


async def test_staff_mail_of_a_spanish_programme_is_spanish(app, api, smtp):
    mails = await staff_mails(app, api, smtp, languages=["es"], name="Festival Río", space="Carpa", item_name="Tapones")
    mails.pop("program")
    found = fragments()
    for what, message in mails.items():
        words = readable(message)
        assert not [f for f in found if f in words], (what, words)
        assert not ENGLISH_WORDS.search(words), (what, ENGLISH_WORDS.search(words), words)
        assert message["Content-Language"] == "es", what
        assert 'lang="es"' in message.get_body(("html",)).get_content(), what
        assert message["From"].addresses[0].display_name == "Planificador de bienestar", what

    assert mails["reset"]["Subject"] == "Restablece tu contraseña del planificador"
    assert "Elige una contraseña nueva aquí (el enlace sirve una sola vez, durante una hora):" in text_of(mails["reset"])
    assert mails["invited"]["Subject"] == "Te invitan a Festival Río"
    # Plural forms and the role's own word: "7 días", "personal".
    assert "durante 7 días" in text_of(mails["invited"])
    assert "organizer@example.org te invitó al equipo de Festival Río (rol: personal)." in text_of(mails["invited"])
    assert mails["added"]["Subject"] == "Formas parte del equipo de Festival Río"
    assert f"Inicia sesión como siempre: {BASE}/login" in text_of(mails["added"])
    assert mails["low"]["Subject"] == "Quedan pocas existencias: Tapones (quedan 5) · Festival Río"
    low = text_of(mails["low"])
    assert "De Tapones solo quedan 5 unidades sumando todos los lugares de Festival Río (la alerta salta con 5 unidades)." in low
    # The default location's name is translated; the organizer's own place is shown as typed.
    assert "Dónde queda: Carpa 3, Almacén 2." in low


async def test_staff_mail_of_an_english_programme_is_the_english_mail(app, api, smtp):
    mails = await staff_mails(app, api, smtp, languages=["en"], name="Riverside", space="Wellness tent", item_name="Earplugs")
    pid = mails["program"]["id"]
    for what in ("reset", "invited", "added", "low"):
        assert mails[what]["Content-Language"] == "en", what
        assert mails[what]["From"].addresses[0].display_name == "Wellness planner", what

    reset = text_of(mails["reset"])
    url = re.search(rf"{BASE}/account/set-password\?token=\S+", reset).group(0)
    assert mails["reset"]["Subject"] == "Reset your planner password"
    assert reset == ("Someone asked to reset the password of your planner account.\n\n"
                     f"Choose a new password here (the link works once, within the hour):\n{url}\n\n"
                     "If it was not you, ignore this message: your password stays as it is.\n")
    invited = text_of(mails["invited"])
    url = re.search(rf"{BASE}/account/set-password\?token=\S+", invited).group(0)
    assert mails["invited"]["Subject"] == "You're invited to Riverside"
    assert invited == ("organizer@example.org invited you to the team of Riverside as staff.\n\n"
                       f"Choose your password here (the link works once, for 7 days):\n{url}\n\n"
                       "If you did not expect this, you can ignore this message.\n")
    assert mails["added"]["Subject"] == "You're on the team of Riverside"
    assert text_of(mails["added"]) == ("organizer@example.org added you to the team of Riverside as staff.\n\n"
                                       f"Log in as usual: {BASE}/login\n")
    assert mails["low"]["Subject"] == "Low stock: Earplugs (5 left) · Riverside"
    assert text_of(mails["low"]) == (
        "Earplugs is down to 5 pieces across all locations of Riverside (the alert is set at 5 pieces).\n\n"
        "Where it is: Warehouse 2, Wellness tent 3.\n\n"
        f"Order or move more before the next hand-outs: {BASE}/programs/{pid}/stock\n")


async def test_a_reset_asked_in_a_chosen_language_speaks_it(app, api, smtp):
    """The asker's own choice (here their browser's) comes before the programme's default."""
    controller, inbox = smtp
    await api.program(name="Festival Río", languages=["es"])
    async with client_from(app, "198.51.100.8", **{"Accept-Language": "de-DE,de;q=0.9"}) as browser:
        tok = await form_token(browser, "/account/reset")
        r = await browser.post("/account/reset", data={"_csrf_token": tok, "email": "organizer@example.org"})
        assert r.status_code == 200, r.text
    await deliver(controller.port)
    [message] = [email.message_from_bytes(raw, policy=STRICT) for raw in inbox.raw]
    assert message["Subject"] == "Setze dein Planer-Passwort zurück"
    assert message["Content-Language"] == "de"
    assert "Falls du das nicht warst, ignoriere diese Nachricht" in text_of(message)
