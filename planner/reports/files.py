"""The report as files for funders: a printable A4 PDF (drawn with Pillow, as the ticket PDF is) and a CSV.

Both are pure functions of a ReportView and return bytes; the handler sets the media type.
"""
from __future__ import annotations

import csv
import io
from typing import Any

from PIL import Image, ImageDraw

from planner.reports import charts
from planner.reports.view import ReportView, Table
from planner.tickets.qr import _drawable, _font, _line_height, _wrap

DPI = 150
A4 = (1240, 1754)  # 210 x 297 mm at 150 dpi
MARGIN = 90
INK = (29, 36, 48)
MUTED = (84, 94, 110)
RULE = (214, 219, 227)
BAND = (240, 244, 248)
ACCENT = (11, 110, 153)


class _Pages:
    """Pages of A4 with a cursor; a new page starts when the next block does not fit."""

    def __init__(self, title: str, footer: str) -> None:
        self.title, self.footer = title, footer
        self.pages: list[Image.Image] = []
        self.new()

    def new(self) -> None:
        self.img = Image.new("RGB", A4, "white")
        self.draw = ImageDraw.Draw(self.img)
        self.pages.append(self.img)
        self.y = MARGIN
        if len(self.pages) > 1:
            f = _font(20)
            self.draw.text((MARGIN, MARGIN - 50), _drawable(self.title, f), font=f, fill=MUTED)

    def need(self, height: int) -> None:
        if self.y + height > A4[1] - MARGIN - 30:
            self.new()

    def finish(self) -> bytes:
        f = _font(18)
        for i, page in enumerate(self.pages, start=1):
            d = ImageDraw.Draw(page)
            text = f"{self.footer} · {i}/{len(self.pages)}"
            d.text((MARGIN, A4[1] - MARGIN + 20), _drawable(text, f), font=f, fill=MUTED)
        buf = io.BytesIO()
        self.pages[0].save(buf, format="PDF", save_all=True, append_images=self.pages[1:], resolution=DPI,
                           title=self.title, producer="planner")
        return buf.getvalue()


def report_pdf(view: ReportView, *, generated: str) -> bytes:
    width = A4[0] - 2 * MARGIN
    pg = _Pages(view.title, generated)
    title_font, sub_font, body_font = _font(44, bold=True), _font(24), _font(20)
    for line in _wrap(view.title, title_font, width, max_lines=3):
        pg.draw.text((MARGIN, pg.y), line, font=title_font, fill=INK)
        pg.y += _line_height(title_font)
    pg.draw.text((MARGIN, pg.y + 6), _drawable(view.subtitle, sub_font), font=sub_font, fill=MUTED)
    pg.y += _line_height(sub_font) + 30

    # Key figures: a grid of cards, two rows of five.
    cols = 5
    gap = 16
    card_w = (width - gap * (cols - 1)) // cols
    card_h = 130
    num_font, label_font = _font(40, bold=True), _font(17)
    for i, (label, value) in enumerate(view.figures):
        r, c = divmod(i, cols)
        x = MARGIN + c * (card_w + gap)
        y = pg.y + r * (card_h + gap)
        pg.draw.rounded_rectangle([x, y, x + card_w, y + card_h], radius=10, fill=BAND)
        pg.draw.text((x + 14, y + 12), _drawable(str(value), num_font), font=num_font, fill=ACCENT)
        ly = y + 12 + _line_height(num_font) + 4
        for line in _wrap(label, label_font, card_w - 24, max_lines=2):
            pg.draw.text((x + 14, ly), line, font=label_font, fill=INK)
            ly += _line_height(label_font)
    rows = -(-len(view.figures) // cols)
    pg.y += rows * (card_h + gap) + 20

    # Charts, two to a row.
    chart_w = (width - 40) // 2
    chart_h = 420
    small_font, bold_font = _font(16), _font(22, bold=True)
    for i in range(0, len(view.charts), 2):
        pg.need(chart_h + 20)
        for j, cv in enumerate(view.charts[i:i + 2]):
            x = MARGIN + j * (chart_w + 40)
            charts.draw(pg.draw, (x, pg.y, x + chart_w, pg.y + chart_h), _pdf_chart(cv.chart), body_font, small_font, bold_font)
        pg.y += chart_h + 30

    for table in view.tables + ([view.feedback] if view.feedback else []):
        _table(pg, table, width)

    pg.need(120)
    for note in view.notes:
        for line in _wrap(note, body_font, width):
            pg.need(_line_height(body_font))
            pg.draw.text((MARGIN, pg.y), line, font=body_font, fill=MUTED)
            pg.y += _line_height(body_font)
        pg.y += 8
    return pg.finish()


def _pdf_chart(chart: charts.Chart) -> charts.Chart:
    # Pillow's fonts need drawable text (the bundled font folds accents).
    f = _font(16)
    return charts.Chart(id=chart.id, title=_drawable(chart.title, f), desc=chart.desc,
                        categories=[_drawable(c, f) for c in chart.categories],
                        series=[charts.Series(_drawable(s.name, f), s.values) for s in chart.series], empty=_drawable(chart.empty, f))


def _table(pg: _Pages, table: Table, width: int) -> None:
    cell_font, cap_font = _font(16), _font(26, bold=True)
    if not table.rows:
        return
    ncols = len(table.headers)
    # The first column takes what the numbers leave; number columns share the rest.
    # A second text column (a day) gets a fixed width that holds "Wed 30 Sep".
    texts = table.numeric_from - 1
    first = max(int(width * 0.28), width - (ncols - 1) * 86)
    rest = (width - first - 110 * texts) / max(ncols - 1 - texts, 1)
    widths = [first] + [110] * texts + [rest] * (ncols - 1 - texts)
    xs = [MARGIN]
    for w_ in widths[:-1]:
        xs.append(xs[-1] + w_)
    # Headers wrap at words only: the font shrinks until each word fits its column.
    for size in (15, 14, 13, 12, 11, 10):
        head_font = _font(size, bold=True)
        if all(head_font.getlength(word) <= widths[i] - 10 for i, h in enumerate(table.headers) for word in h.split()):
            break
    head_lines = [_wrap(h, head_font, int(widths[i] - 10), max_lines=4) for i, h in enumerate(table.headers)]
    head_h = max(len(x) for x in head_lines) * _line_height(head_font) + 12
    row_h = _line_height(cell_font) + 12

    def header() -> None:
        pg.draw.rectangle([MARGIN, pg.y, MARGIN + width, pg.y + head_h], fill=BAND)
        for i, lines in enumerate(head_lines):
            y = pg.y + 6
            for line in lines:
                w = head_font.getlength(line)
                x = xs[i] + 6 if i < table.numeric_from else xs[i] + widths[i] - w - 6
                pg.draw.text((x, y), line, font=head_font, fill=INK)
                y += _line_height(head_font)
        pg.y += head_h

    pg.need(_line_height(cap_font) + head_h + row_h * min(3, len(table.rows)) + 20)
    pg.draw.text((MARGIN, pg.y), _drawable(table.caption, cap_font), font=cap_font, fill=INK)
    pg.y += _line_height(cap_font) + 8
    header()
    for row in table.rows:
        if pg.y + row_h > A4[1] - MARGIN - 30:
            pg.new()
            header()
        for i, value in enumerate(row):
            text = _drawable(str(value), cell_font)
            if i < table.numeric_from:
                lines = _wrap(text, cell_font, int(widths[i] - 12), max_lines=1)
                text = lines[0] if lines else ""
                x = xs[i] + 6
            else:
                x = xs[i] + widths[i] - cell_font.getlength(text) - 6
            pg.draw.text((x, pg.y + 6), text, font=cell_font, fill=INK)
        pg.y += row_h
        pg.draw.line([(MARGIN, pg.y), (MARGIN + width, pg.y)], fill=RULE, width=1)
    pg.y += 30


# ---------------------------------------------------------------- CSV

def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab/CR) gets a quote."""
    if isinstance(value, str) and value and value[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(view: ReportView) -> bytes:
    """Every table of the report, one after another, each under its caption."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([csv_safe(view.title)])
    w.writerow([csv_safe(view.subtitle)])
    w.writerow([])
    for label, value in view.figures:
        w.writerow([csv_safe(label), csv_safe(value)])
    for table in [cv.table for cv in view.charts[3:]] + view.tables + ([view.feedback] if view.feedback else []):
        w.writerow([])
        w.writerow([csv_safe(table.caption)])
        w.writerow([csv_safe(h) for h in table.headers])
        for row in table.rows:
            w.writerow([csv_safe(v) for v in row])
    w.writerow([])
    for note in view.notes:
        w.writerow([csv_safe(note)])
    # A BOM so that spreadsheet programs read the file as UTF-8.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
