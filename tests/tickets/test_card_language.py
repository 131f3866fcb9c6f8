"""Ticket cards speak the language each guest RSVPed in: their own card and the organizers' printed PDF.

The card image is drawn from a `CardText` alone (planner/tickets/qr.py), so checking the texts that
`card_for` builds checks every word the card can show; zxing-cpp then reads the QR of the very image
the guest downloads, which is the image drawn from those texts, byte for byte.
"""
from __future__ import annotations

import io
import re
from datetime import datetime

import zxingcpp
from PIL import Image

from planner import i18n
from planner.rsvps.tables import Rsvp
from planner.tickets.card import card_for
from planner.tickets.qr import CARD_SIZE, CardText, ticket_card_png

# English words the card must not show (resources' own names, such as "Crisis Text Line", stay as they are).
ENGLISH = re.compile(r"Emergency services|Admit|Friday|July|24/7|every day|If you need support|Ticket|\btext\b")


def decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


async def book(client, activity_id: int, name: str, addr: str, language: str, guests: int) -> dict:
    got = await client.post(f"/api/activities/{activity_id}/rsvps",
                            json={"name": name, "email": addr, "language": language, "guests": guests})
    assert got.status_code == 201, got.text
    body = got.json()
    assert body["status"] == "confirmed"
    return body


def pdf_pages(pdf: bytes) -> list[Image.Image]:
    """The page images of a PDF Pillow wrote (one JPEG stream per page)."""
    streams = re.findall(rb"/DCTDecode.*?stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    return [Image.open(io.BytesIO(s)).convert("RGB") for s in streams]


async def test_cards_speak_the_guests_language_and_still_scan(api, setup, client):
    p, space = setup["program"], setup["space"]  # an English programme in New York
    a = await api.activity(p["id"], space["id"], title="Klangbad", capacity=10, max_guests=3,
                           starts_at="2027-07-02T10:00", ends_at="2027-07-02T11:00")
    de = await book(client, a["id"], "Jürgen", "juergen@example.org", "de", guests=2)
    pt = await book(client, a["id"], "Inês", "ines@example.org", "pt", guests=1)
    en = await book(client, a["id"], "Sam", "sam@example.org", "en", guests=0)
    rows = {r["id"]: r for r in await Rsvp.select().where(Rsvp.activity == a["id"])}
    start, end = datetime.fromisoformat(a["slots"][0]["starts_at"]), datetime.fromisoformat(a["slots"][0]["ends_at"])

    german = await card_for(rows[de["id"]])
    assert german.when_text == i18n.format_when(start, end, "America/New_York", "de")
    assert german.when_text.startswith("Freitag, 2. Juli 2027")
    assert german.admit() == "Gilt für 3 Personen"
    assert german.crisis_heading == i18n.translations("de").gettext("If you need support now:") != "If you need support now:"
    assert "Notruf: 911 (rund um die Uhr)" in german.crisis_lines
    assert (german.heading, german.activity_title, german.space_name, german.guest_name) == (
        p["name"], "Klangbad", space["name"], "Jürgen")  # as the organizer and the guest typed them
    assert not [line for line in german.lines() if ENGLISH.search(line)], german.lines()

    portuguese = await card_for(rows[pt["id"]])
    assert portuguese.when_text.startswith("sexta-feira, 2 de julho de 2027")
    assert portuguese.admit() == "Vale para 2 pessoas"
    assert "Serviços de emergência: 911 (24 horas, todos os dias)" in portuguese.crisis_lines
    assert not [line for line in portuguese.lines() if ENGLISH.search(line)], portuguese.lines()

    english = await card_for(rows[en["id"]])
    assert english.when_text.startswith("Friday, 2 July 2027")
    assert english.admit() == ""  # one person: nothing to say
    assert "Emergency services: 911 (24/7)" in english.crisis_lines

    # The guest's own card (asked for in English by the browser) is the German card, and its QR reads.
    for rsvp, texts in ((de, german), (pt, portuguese)):
        got = await client.get(f"/r/{rsvp['id']}/ticket.png", params={"token": rsvp["manage_url"].split("token=")[1]},
                               headers={"Accept-Language": "en"})
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert got.content == ticket_card_png(texts)
        image = Image.open(io.BytesIO(got.content))
        assert image.size == CARD_SIZE
        assert decoded(image) == [rows[rsvp["id"]]["ticket_code"]]

    # The organizers' PDF: a page per confirmed guest, by name, each page's QR still reads.
    got = await client.get(f"/activities/{a['id']}/tickets.pdf", headers={**api.h, "Accept-Language": "en"})
    assert got.status_code == 200 and got.content.startswith(b"%PDF"), got.text
    pages = pdf_pages(got.content)
    by_name = sorted(rows.values(), key=lambda r: r["name"])
    assert [decoded(page) for page in pages] == [[r["ticket_code"]] for r in by_name]


def test_the_admit_line_fits_the_card_in_every_language():
    """The party's line is drawn big; a long translation ("Valable pour 20 personnes") takes a smaller size
    instead of running off the card: the card's side margins stay blank, and the QR still reads."""
    for lang in i18n.LANGUAGES:
        texts = CardText(code="Xy3kQ9dLmN2pR7sT", activity_title="Klangbad", when_text="", space_name="", guest_name="",
                         party_size=20, admit_text=i18n._nl("Admit {n}", "Admit {n}", 20).render(lang))
        image = Image.open(io.BytesIO(ticket_card_png(texts))).convert("L")
        width, height = image.size
        for x in (*range(0, 30), *range(width - 30, width)):
            assert min(image.getpixel((x, y)) for y in range(0, height, 2)) > 200, (lang, texts.admit_text, x)
        assert decoded(image) == ["Xy3kQ9dLmN2pR7sT"]
