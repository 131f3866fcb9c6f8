"""Bar charts of the report: one model, drawn as SVG for the page and with Pillow for the PDF.

A chart is a title, a description, categories and one or more series. The SVG carries the title
and description for assistive technology, and the page puts the same numbers in a table beside
it. A masked value ("<5" in the shareable version) is drawn as an outlined stub with its label,
never as a bar whose height would tell the number. Colours are presentation attributes, so the
SVG needs no stylesheet and no script.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

# Calm, colour-blind-safe (Okabe-Ito) fills with AA contrast against white for their labels' ink.
COLOURS = ("#0b6e99", "#d55e00", "#6b5b95", "#009e73")
INK = "#1d2430"
GRID = "#d6dbe3"


@dataclass
class Series:
    name: str
    values: list[Any]  # ints, or "<5" where masked


@dataclass
class Chart:
    id: str
    title: str
    desc: str = ""
    categories: list[str] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    empty: str = ""

    def numeric(self, v: Any) -> int:
        return v if isinstance(v, int) else 0

    @property
    def top(self) -> int:
        peak = max((self.numeric(v) for s in self.series for v in s.values), default=0)
        # Headroom above the tallest bar for its label.
        return _nice(max(int(peak * 1.12) + 1, 5))

    @property
    def has_data(self) -> bool:
        return bool(self.categories) and any(v not in (0, None) for s in self.series for v in s.values)


def _nice(n: int) -> int:
    """A round axis top at or above n (5, 10, 20, 25, 50, 100, ...), so the five grid steps are whole numbers."""
    step = 1
    while True:
        for m in (5, 10, 20, 25, 50):
            if m * step >= n:
                return m * step
        step *= 10


def describe(chart: Chart, t: Callable[[str], str]) -> str:
    """A one-paragraph text of the chart's numbers, for its <desc> (and the PDF's reader)."""
    parts = []
    for i, cat in enumerate(chart.categories):
        vals = ", ".join(f"{s.name} {s.values[i]}" for s in chart.series) if len(chart.series) > 1 else f"{chart.series[0].values[i]}"
        parts.append(f"{cat}: {vals}")
    return (chart.desc + " " if chart.desc else "") + ("; ".join(parts) if parts else chart.empty)


# ---------------------------------------------------------------- SVG

def svg(chart: Chart, t: Callable[[str], str], *, width: int = 420) -> str:
    """The chart as an inline SVG element (role img, labelled by its title and description). Drawn small
    (420 wide) with 12-14 px text, so that it stays readable when a phone shows it at 300 px."""
    n = max(len(chart.categories), 1)
    rotate = n > 6
    left, right, top, bottom = 40, 8, 18, (74 if rotate else 30)
    legend = 22 * len(chart.series) if len(chart.series) > 1 else 0
    height = 190 + bottom + legend
    plot_w, plot_h = width - left - right, height - top - bottom - legend
    ymax = chart.top
    tid, did = f"{chart.id}-title", f"{chart.id}-desc"
    out = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" '
         f'aria-labelledby="{tid} {did}" preserveAspectRatio="xMidYMid meet">'),
        f'<title id="{tid}">{escape(chart.title)}</title>',
        f'<desc id="{did}">{escape(describe(chart, t))}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i in range(6):
        v = ymax * i // 5
        y = top + plot_h - plot_h * i / 5
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{INK}" font-family="sans-serif">{v}</text>')
    band = plot_w / n
    k = max(len(chart.series), 1)
    bar_w = max(2.0, min(40.0, band * 0.8 / k))
    for ci, cat in enumerate(chart.categories):
        x0 = left + band * ci + (band - bar_w * k) / 2
        for si, s in enumerate(chart.series):
            v = s.values[ci]
            x = x0 + si * bar_w
            colour = COLOURS[si % len(COLOURS)]
            if isinstance(v, int):
                h = plot_h * v / ymax if ymax else 0
                out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{colour}"/>')
            else:
                # Masked: an outlined stub, the label says "<5".
                out.append(f'<rect x="{x + 0.5:.1f}" y="{top + plot_h - 6:.1f}" width="{bar_w - 2:.1f}" height="6" fill="none" '
                           f'stroke="{colour}" stroke-dasharray="2 2"/>')
            if n <= 16:
                label = escape(str(v))
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - (plot_h * chart.numeric(v) / ymax if ymax else 0) - 4:.1f}" '
                           f'text-anchor="middle" font-size="12" fill="{INK}" font-family="sans-serif">{label}</text>')
        cx = left + band * ci + band / 2
        if rotate:
            label = escape(_short(cat, 12))
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14:.1f}" font-size="13" fill="{INK}" font-family="sans-serif" '
                       f'text-anchor="end" transform="rotate(-40 {cx:.1f} {top + plot_h + 14:.1f})">{label}</text>')
        else:
            label = escape(_short(cat, max(4, int(band / 7.5))))
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 18:.1f}" text-anchor="middle" font-size="13" fill="{INK}" '
                       f'font-family="sans-serif">{label}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{INK}" stroke-width="1"/>')
    if legend:
        # One series per line: long names in any language fit.
        for si, s in enumerate(chart.series):
            y = top + plot_h + bottom + 16 + 22 * si
            out.append(f'<rect x="{left}" y="{y - 11}" width="13" height="13" fill="{COLOURS[si % len(COLOURS)]}"/>')
            out.append(f'<text x="{left + 19}" y="{y}" font-size="13" fill="{INK}" font-family="sans-serif">{escape(s.name)}</text>')
    if not chart.has_data:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="14" fill="{INK}" '
                   f'font-family="sans-serif">{escape(chart.empty)}</text>')
    out.append("</svg>")
    return "".join(out)


def _short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


# ---------------------------------------------------------------- Pillow (for the PDF)

def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def draw(img_draw, box: tuple[int, int, int, int], chart: Chart, font, small_font, bold_font) -> None:
    """Draw the chart into box (x0, y0, x1, y1) of a Pillow ImageDraw, title included."""
    x0, y0, x1, y1 = box
    img_draw.text((x0, y0), chart.title, font=bold_font, fill=_rgb(INK))
    top = y0 + int(bold_font.size * 1.6)
    legend = int(small_font.size * 1.8) if len(chart.series) > 1 else 0
    left = x0 + int(small_font.size * 3.2)
    bottom = y1 - int(small_font.size * 2.4) - legend
    plot_h = bottom - top
    ymax = chart.top
    for i in range(6):
        v = ymax * i // 5
        y = bottom - plot_h * i / 5
        img_draw.line([(left, y), (x1, y)], fill=_rgb(GRID), width=1)
        tw = small_font.getlength(str(v))
        img_draw.text((left - tw - 6, y - small_font.size / 2 - 1), str(v), font=small_font, fill=_rgb(INK))
    n = max(len(chart.categories), 1)
    band = (x1 - left) / n
    k = max(len(chart.series), 1)
    bar_w = max(2.0, min(60.0, band * 0.8 / k))
    for ci, cat in enumerate(chart.categories):
        bx = left + band * ci + (band - bar_w * k) / 2
        for si, s in enumerate(chart.series):
            v = s.values[ci]
            x = bx + si * bar_w
            colour = _rgb(COLOURS[si % len(COLOURS)])
            if isinstance(v, int):
                h = plot_h * v / ymax if ymax else 0
                if h > 0:
                    img_draw.rectangle([x, bottom - h, x + bar_w - 2, bottom], fill=colour)
            else:
                img_draw.rectangle([x, bottom - 8, x + bar_w - 2, bottom], outline=colour, width=2)
            if n <= 16:
                label = str(v)
                lw = small_font.getlength(label)
                vh = plot_h * chart.numeric(v) / ymax if ymax else 0
                img_draw.text((x + bar_w / 2 - lw / 2, bottom - vh - small_font.size - 4), label, font=small_font, fill=_rgb(INK))
        label = _short(cat, max(4, int(band / (small_font.size * 0.62))))
        lw = small_font.getlength(label)
        img_draw.text((left + band * ci + band / 2 - lw / 2, bottom + 6), label, font=small_font, fill=_rgb(INK))
    img_draw.line([(left, bottom), (x1, bottom)], fill=_rgb(INK), width=2)
    if legend:
        x = left
        y = y1 - legend + 4
        for si, s in enumerate(chart.series):
            img_draw.rectangle([x, y, x + small_font.size, y + small_font.size], fill=_rgb(COLOURS[si % len(COLOURS)]))
            img_draw.text((x + small_font.size + 6, y - 2), s.name, font=small_font, fill=_rgb(INK))
            x += small_font.size + 24 + small_font.getlength(s.name)
    if not chart.has_data:
        w = font.getlength(chart.empty)
        img_draw.text(((left + x1) / 2 - w / 2, top + plot_h / 2), chart.empty, font=font, fill=_rgb(INK))
