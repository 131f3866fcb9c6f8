import io
import re
import secrets
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from planner.tickets.qr import CARD_SIZE, qr_png, qr_svg, ticket_card_png, tickets_pdf

SVG_ROOT = "{http://www.w3.org/2000/svg}svg"
SVG_PATH = "{http://www.w3.org/2000/svg}path"


def _code() -> str:
    return secrets.token_urlsafe(16)


def _decoded(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def _card(code: str, **overrides) -> bytes:
    fields = dict(
        code=code,
        activity_title="Sound bath for touring crews",
        when_text="Sat 14 Jun, 18:00–18:40",
        space_name="Backstage wellness tent",
        guest_name="Sam Rivera",
        party_size=1,
        crisis_lines=["Emergency: 112", "TelefonSeelsorge: 0800 111 0 111 (24/7)"],
    )
    fields.update(overrides)
    return ticket_card_png(**fields)


def test_qr_png_decodes_to_exactly_the_code():
    code = _code()

    png = qr_png(code)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert _decoded(png) == [code]


def test_qr_png_box_size_and_border_set_the_pixel_size():
    code = _code()

    small = Image.open(io.BytesIO(qr_png(code, box_size=4, border=4)))
    large = Image.open(io.BytesIO(qr_png(code, box_size=8, border=4)))

    assert large.size == (small.size[0] * 2, small.size[1] * 2)
    assert small.size[0] % 4 == 0


def test_qr_svg_is_a_standalone_svg_document_with_path_data():
    svg = qr_svg(_code())

    root = ET.fromstring(svg)

    assert root.tag == SVG_ROOT
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    paths = root.findall(SVG_PATH)
    assert len(paths) == 1
    assert re.match(r"M\d+,\d+H\d+V\d+H\d+z", paths[0].get("d"))


def test_qr_svg_differs_by_code():
    assert qr_svg("a" * 22) != qr_svg("b" * 22)


def test_ticket_card_png_has_card_size_and_decodes_to_the_code():
    code = _code()

    png = _card(code, party_size=3)

    assert Image.open(io.BytesIO(png)).size == CARD_SIZE == (1000, 1400)
    assert _decoded(png) == [code]


def test_ticket_card_png_survives_long_titles_non_ascii_names_and_many_lines():
    code = _code()

    png = _card(
        code,
        activity_title="Songwriters' dinner " * 30,
        guest_name="Zoë 李小龙 Ødegaard — ✨",
        space_name="Ресторан «Звезда»",
        when_text="土曜日 18:00",
        party_size=2,
        crisis_lines=[f"Line {i}: 0800 000 {i:03d}, a long description that has to wrap" for i in range(12)],
        heading="Einladung",
    )

    assert Image.open(io.BytesIO(png)).size == CARD_SIZE
    assert _decoded(png) == [code]


def test_ticket_card_png_works_with_only_pillows_bundled_font(monkeypatch):
    # A slim container has no system fonts; the card must still render non-ASCII text.
    from planner.tickets import qr

    monkeypatch.setattr(qr, "_SYSTEM_FONTS", {False: (), True: ()})
    qr._font.cache_clear()
    code = _code()
    try:
        png = _card(code, guest_name="Zoë 李小龙 Ødegaard", when_text="Sat 18:00–18:40", party_size=4)
    finally:
        qr._font.cache_clear()

    assert Image.open(io.BytesIO(png)).size == CARD_SIZE
    assert _decoded(png) == [code]


def test_ticket_card_png_without_crisis_lines_still_decodes():
    code = _code()

    assert _decoded(_card(code, crisis_lines=[], party_size=1)) == [code]


def test_tickets_pdf_has_one_page_per_card():
    cards = [_card(_code()) for _ in range(3)]

    pdf = tickets_pdf(cards)

    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 3
    # 1000 x 1400 px at 200 dpi: a 5 x 7 inch page, in points.
    assert len(re.findall(rb"/MediaBox\s*\[\s*0 0 360(?:\.0)? 504(?:\.0)?\s*\]", pdf)) == 3


def test_tickets_pdf_refuses_no_cards():
    with pytest.raises(ValueError):
        tickets_pdf([])
