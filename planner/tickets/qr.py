"""Ticket images: the QR as PNG or SVG, a printable card, and a PDF of cards.

Pure functions that return bytes; the handler sets the media type. The QR
content is exactly the ticket code (a random token), never a name or email.
"""
from __future__ import annotations

import functools
import io
import unicodedata
from dataclasses import dataclass, field

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont
from qrcode.image.svg import SvgPathFillImage

from planner.i18n import _l, _nl

CARD_SIZE = (1000, 1400)
# 1000 x 1400 px at 200 dpi prints as a 5 x 7 inch card.
CARD_DPI = 200

_INK = (0, 0, 0)
_PAPER = (255, 255, 255)
_MARGIN = 60
_QR_BORDER = 4  # modules of quiet zone, as the QR spec asks


def _qr(code: str, *, box_size: int = 10, border: int = _QR_BORDER, image_factory=None) -> qrcode.QRCode:
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=border,
        image_factory=image_factory,
    )
    qr.add_data(code)
    qr.make(fit=True)
    return qr


def _qr_image(code: str, *, box_size: int, border: int) -> Image.Image:
    pil = _qr(code, box_size=box_size, border=border).make_image(fill_color="black", back_color="white")
    return pil.get_image().convert("RGB")


def qr_png(code: str, *, box_size: int = 10, border: int = _QR_BORDER) -> bytes:
    """The code as a QR PNG (error correction M)."""
    buf = io.BytesIO()
    _qr_image(code, box_size=box_size, border=border).save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(code: str) -> bytes:
    """The code as a standalone SVG document (viewBox in modules, white background)."""
    # The white background keeps the code scannable on dark pages and screens.
    image = _qr(code, image_factory=SvgPathFillImage).make_image()
    return image.to_string(xml_declaration=True, encoding="utf-8")


# Wide-coverage TrueType fonts, used when the system happens to have one (Pillow searches the
# usual font folders). Pillow's bundled default covers only ASCII, so "Zoë" would show a box.
_SYSTEM_FONTS = {
    False: ("DejaVuSans.ttf", "NotoSans-Regular.ttf", "LiberationSans-Regular.ttf"),
    True: ("DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf", "LiberationSans-Bold.ttf"),
}
_ASCII_FOLDS = str.maketrans({
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i",
})


@functools.cache
def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in _SYSTEM_FONTS[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    # Pillow >= 10.1 bundles a scalable font; without FreeType it falls back to a small bitmap one.
    return ImageFont.load_default(size=size)


def _is_bundled(font) -> bool:
    # A system font has a file path; the bundled one is read from memory.
    return not isinstance(getattr(font, "path", None), str)


def _drawable(text: str, font) -> str:
    """Text the font can draw: with the bundled font, accents are folded to ASCII where possible."""
    if not _is_bundled(font):
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLDS))
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if isinstance(font, ImageFont.FreeTypeFont):
        return folded  # glyphs still missing (CJK, ...) are drawn as boxes, not an error
    # The bitmap fallback font only encodes Latin-1.
    return folded.encode("latin-1", "replace").decode("latin-1")


def _wrap(text: str, font, width: int, *, max_lines: int | None = None) -> list[str]:
    """Break text into lines no wider than `width` px, splitting overlong words by character."""
    text = _drawable(" ".join(text.split()), font)
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and font.getlength(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _line_height(font) -> int:
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (font.size, 0)
    return int((ascent + descent) * 1.15)


def _draw_lines(draw: ImageDraw.ImageDraw, lines: list[str], font, y: int, *, center: bool = False) -> int:
    """Draw lines from y downwards; return the y below the last line."""
    width = CARD_SIZE[0]
    for line in lines:
        x = (width - font.getlength(line)) / 2 if center else _MARGIN
        draw.text((x, y), line, font=font, fill=_INK)
        y += _line_height(font)
    return y


@dataclass(frozen=True)
class CardText:
    """Every word a ticket card shows, already in its guest's language: the card is drawn from this alone.

    `crisis_heading` introduces `crisis_lines` (support resources); `admit_text` is shown for a party of two or more.
    """

    code: str
    activity_title: str
    when_text: str
    space_name: str
    guest_name: str
    party_size: int
    crisis_lines: list[str] = field(default_factory=list)
    heading: str = ""
    admit_text: str | None = None
    crisis_heading: str = ""

    def top(self) -> str:
        return self.heading or _l("Your ticket").render()

    def admit(self) -> str:
        """What a party of two or more shows in big letters ("Admit 3"); nothing for one person."""
        if self.party_size <= 1:
            return ""
        return self.admit_text or _nl("Admit {n}", "Admit {n}", self.party_size).render()

    def support(self) -> list[str]:
        """The support block under the QR: its heading, then each resource."""
        if not self.crisis_lines:
            return []
        return [self.crisis_heading, *self.crisis_lines] if self.crisis_heading else list(self.crisis_lines)

    def lines(self) -> list[str]:
        """Every text drawn on the card, top to bottom (the code is printed under the QR as well)."""
        out = [self.top(), self.activity_title, self.when_text, self.space_name, self.guest_name, self.admit(), self.code,
               *self.support()]
        return [x for x in out if x]


def ticket_card_png(card: CardText | None = None, /, **fields) -> bytes:
    """A printable ticket card (1000 x 1400 px PNG) drawn from its texts (a `CardText`, or its fields as keywords):
    details on top, the QR big and centred, support lines below."""
    texts = card or CardText(**fields)
    code = texts.code
    width, height = CARD_SIZE
    text_width = width - 2 * _MARGIN
    canvas = Image.new("RGB", CARD_SIZE, _PAPER)
    draw = ImageDraw.Draw(canvas)

    heading_font, title_font, body_font = _font(34), _font(56, bold=True), _font(36)

    # Top block: what, when, where, who.
    y = _MARGIN - 10
    y = _draw_lines(draw, _wrap(texts.top().upper(), heading_font, text_width, max_lines=1), heading_font, y)
    y += 10
    y = _draw_lines(draw, _wrap(texts.activity_title, title_font, text_width, max_lines=3), title_font, y)
    y += 10
    for text in (texts.when_text, texts.space_name, texts.guest_name):
        if text:
            y = _draw_lines(draw, _wrap(text, body_font, text_width, max_lines=2), body_font, y)
    top = y + 20

    # Bottom block, laid out from the bottom up so the support lines are never cut off.
    # A long list of support lines gets a smaller font rather than squeezing the QR.
    for small_font in (_font(26), _font(22), _font(18)):
        crisis = [line for text in texts.support() for line in _wrap(text, small_font, text_width)]
        crisis_height = len(crisis) * _line_height(small_font)
        if crisis_height <= height // 4:
            break
    crisis_top = height - _MARGIN - crisis_height
    if crisis:
        rule_y = crisis_top - 20
        draw.line((_MARGIN, rule_y, width - _MARGIN, rule_y), fill=_INK, width=3)
        _draw_lines(draw, crisis, small_font, crisis_top)
        bottom = rule_y - 20
    else:
        bottom = height - _MARGIN
    if texts.admit():
        # Big, but never wider than the card: "Valable pour 3 personnes" takes a smaller size than "Admit 3".
        for admit_font in (_font(size, bold=True) for size in (88, 76, 64, 54, 46)):
            admit = _wrap(texts.admit(), admit_font, text_width, max_lines=2)
            if len(admit) == 1:
                break
        bottom -= _line_height(admit_font) * len(admit)
        _draw_lines(draw, admit, admit_font, bottom, center=True)
        bottom -= 10

    # The code in letters under the QR, for staff to type or search when a camera cannot read it.
    code_font = _font(30)
    bottom -= _line_height(code_font)
    _draw_lines(draw, [_drawable(code, code_font)], code_font, bottom, center=True)
    bottom -= 10

    # The QR takes what is left, in whole pixels per module so it stays crisp.
    qr = _qr(code, box_size=1)
    modules = qr.modules_count + 2 * _QR_BORDER
    room = max(min(bottom - top, text_width), modules * 4)
    box = max(room // modules, 4)
    qr_image = _qr_image(code, box_size=box, border=_QR_BORDER)
    canvas.paste(qr_image, ((width - qr_image.width) // 2, top + max((bottom - top - qr_image.height) // 2, 0)))

    buf = io.BytesIO()
    canvas.save(buf, format="PNG", dpi=(CARD_DPI, CARD_DPI))
    return buf.getvalue()


def tickets_pdf(cards: list[bytes]) -> bytes:
    """One PDF with a page per card PNG, for printing all tickets of an activity."""
    if not cards:
        raise ValueError("tickets_pdf needs at least one card")
    pages = [Image.open(io.BytesIO(card)).convert("RGB") for card in cards]
    buf = io.BytesIO()
    pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=CARD_DPI)
    return buf.getvalue()
