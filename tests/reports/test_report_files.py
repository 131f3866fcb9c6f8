"""The page, the shareable page, the PDF and the CSV: they render, agree, and hold no personal data."""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from planner.reports.files import csv_safe
from planner.rsvps.tables import Rsvp
from tests.reports import scenario

HTML = {"Accept": "text/html"}
SVG_NS = "{http://www.w3.org/2000/svg}"
# Where the rendered files are kept for a person to look at (the test also checks them).
OUT = Path(os.environ.get("PLANNER_REPORT_OUT", tempfile.gettempdir())) / "planner-report-files"


async def html_get(api, url: str, **kw):
    return await api.client.get(url, headers={**api.h, **HTML}, **kw)


def personal_strings(s: dict) -> list[str]:
    out = []
    for name, email in scenario.GUESTS.values():
        out += [name, email, name.split()[0], name.split()[1], email.split("@")[0]]
    out += scenario.WALKIN_NAMES
    return out


async def all_rsvp_emails() -> list[str]:
    return [r["email"] for r in await Rsvp.select(Rsvp.email)]


def assert_no_personal_data(text: str, strings: list[str]) -> None:
    for s in strings:
        assert not re.search(r"\b" + re.escape(s) + r"\b", text, re.IGNORECASE), f"{s!r} appears in the shareable output"


async def test_report_page_shows_figures_charts_and_tables(api, client):
    s = await scenario.build(api, client)
    r = await html_get(api, f"/programs/{s['program']['id']}/report")
    assert r.status_code == 200, r.text
    html = r.text
    assert "Impact report: Riverside Festival 2027" in html
    assert html.count("<svg") == 4 and "<script" not in html.split("</main>")[0].split("<main")[1]
    for title in ("Attendance by day", "Attendance by kind of activity", "Demand and seats by day", "Kits handed out over time"):
        assert title in html
    # The full version shows the exact small counts.
    assert ">8</dd>" in html and "&lt;5" not in html.split("<main")[1].split("Key figures")[1].split("</dl>")[0]


async def test_report_svg_charts_are_accessible_and_match_their_tables(api, client):
    s = await scenario.build(api, client)
    html = (await html_get(api, f"/programs/{s['program']['id']}/report")).text
    svgs = [chunk.split("</svg>")[0] + "</svg>" for chunk in html.split("<svg")[1:]]
    OUT.mkdir(parents=True, exist_ok=True)
    for i, body in enumerate(svgs):
        doc = "<svg" + body
        root = ET.fromstring(doc)  # well-formed XML
        assert root.get("role") == "img"
        title, desc = root.find(f"{SVG_NS}title"), root.find(f"{SVG_NS}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        (OUT / f"chart-{i}.svg").write_text(doc)
    # The attendance-by-day chart says the same numbers as its table: 2, 5, 2, 2 admissions.
    day_desc = ET.fromstring("<svg" + svgs[0]).find(f"{SVG_NS}desc").text
    assert [part.rsplit(": ", 1)[1] for part in day_desc.split(". ", 1)[1].split("; ")] == ["2", "5", "2", "2"]
    table = html.split('id="attendance-day-table"')[1].split("</table>")[0]
    assert [c.split("</td>")[0] for c in table.split('<td class="num">')[1:]] == ["2", "5", "2", "2"]


async def test_report_page_speaks_the_requested_language(api, client):
    s = await scenario.build(api, client)
    r = await html_get(api, f"/programs/{s['program']['id']}/report", params={"lang": "es"})
    assert r.status_code == 200
    # Day names come from Babel in the page's language (untranslated strings fall back to English).
    assert "jul" in r.text and '<html lang="es">' in r.text


async def test_report_shareable_versions_show_small_counts_as_less_than_5_and_no_personal_data(api, client):
    s = await scenario.build(api, client)
    pid = s["program"]["id"]
    strings = personal_strings(s) + await all_rsvp_emails()
    page = (await html_get(api, f"/programs/{pid}/report", params={"shareable": "true"})).text
    pdf = await api.get(f"/programs/{pid}/report.pdf", expect=200)
    csv_r = await api.get(f"/programs/{pid}/report.csv", expect=200)
    api_json = (await api.get(f"/api/programs/{pid}/report", params={"shareable": "true"}, expect=200)).text
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert csv_r.headers["content-type"].startswith("text/csv")
    text = csv_r.content.decode("utf-8-sig")
    for out in (page, text, api_json):
        assert_no_personal_data(out, strings)
        assert "<5" in out or "&lt;5" in out
        assert "erased" not in out.lower()
    rows = list(csv.reader(io.StringIO(text)))
    figures = {r[0]: r[1] for r in rows if len(r) == 2}
    assert figures["People served"] == "8" and figures["No-shows"] == "<5" and figures["Walk-ins"] == "<5"
    assert figures["Sessions held"] == "0"  # all in 2027
    # Activity rows: small counts masked, seats offered shown as they are.
    sound = next(r for r in rows if r and r[0].startswith("Sound bath"))
    assert sound[2:] == ["5", "1", "10", "7", "5", "<5", "<5", "<5", "<5"]
    # Nothing a spreadsheet would run as a formula.
    assert not any(cell[:1] in ("=", "+", "-", "@") for r in rows for cell in r)


def test_report_csv_cells_are_formula_safe():
    assert csv_safe("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert csv_safe("+1") == "'+1" and csv_safe("@sum") == "'@sum" and csv_safe("-2") == "'-2"
    assert csv_safe("Tea") == "Tea" and csv_safe(5) == 5 and csv_safe("<5") == "<5"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
async def test_report_pdf_renders_to_a4_pages(api, client):
    s = await scenario.build(api, client)
    pdf = (await api.get(f"/programs/{s['program']['id']}/report.pdf", expect=200)).content
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.pdf").write_bytes(pdf)
    for old in OUT.glob("report-page*.png"):
        old.unlink()
    # A real PDF reader (poppler) renders each page to a PNG.
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(OUT / "report.pdf"), str(OUT / "report-page")], check=True, timeout=60)  # noqa: ASYNC221
    pages = sorted(OUT.glob("report-page*.png"))
    assert 1 <= len(pages) <= 6
    info = subprocess.run(["pdfinfo", str(OUT / "report.pdf")], capture_output=True, text=True, check=True).stdout  # noqa: ASYNC221
    size = next(line for line in info.splitlines() if line.startswith("Page size"))
    w, h = (float(x) for x in size.split(":")[1].split("pts")[0].split(" x "))
    assert abs(w - 595.3) < 2 and abs(h - 841.9) < 2, size  # A4
    first = Image.open(pages[0]).convert("L")
    dark = sum(1 for px in first.getdata() if px < 128)
    assert dark > 2000, "the first page is nearly blank"
