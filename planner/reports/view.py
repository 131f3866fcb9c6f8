"""What the page, the PDF and the CSV show: labelled figures, tables and charts in one language.

Built once from a Report; the small-number rule is applied here for the shareable version, so
the three outputs cannot disagree. Nothing here holds a name, an email or an answer: the Report
has none to give.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date

from planner.i18n import _, translations
from planner.reports import charts
from planner.reports.rules import Report, mask, small

KIND_LABELS = {"activation": _("Activation"), "residency": _("Residency"), "dinner": _("Dinner")}
MOOD_LABELS = {"1": _("Very low"), "2": _("Low"), "3": _("Okay"), "4": _("Good"), "5": _("Very good")}
AGAIN_LABELS = {"yes": _("Yes"), "maybe": _("Maybe"), "no": _("No")}
MOODS = ("1", "2", "3", "4", "5")
AGAINS = ("yes", "maybe", "no")


@dataclass
class Table:
    id: str
    caption: str
    headers: list[str]
    rows: list[list[Any]]
    numeric_from: int = 1  # columns from here on are numbers (right-aligned)


@dataclass
class ChartView:
    chart: charts.Chart
    svg: str
    table: Table


@dataclass
class ReportView:
    lang: str
    title: str
    subtitle: str
    shareable: bool
    figures: list[tuple[str, Any]]
    charts: list[ChartView]
    tables: list[Table]
    notes: list[str] = field(default_factory=list)
    feedback: Table | None = None


def _day_label(d: Any, lang: str, pattern: str = "EEE d MMM") -> str:
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    try:
        return format_date(d, pattern, locale=lang)
    except Exception:  # noqa: BLE001 - an unknown locale falls back to English
        return format_date(d, pattern, locale="en")


def _language_label(code: str, lang: str) -> str:
    try:
        return (Locale.parse(code).get_display_name(lang) or code).capitalize()
    except Exception:  # noqa: BLE001 - an unknown code is shown as it is
        return code or "?"


def build_view(report: Report, *, lang: str, shareable: bool, title: str) -> ReportView:
    t: Callable[[str], str] = translations(lang).gettext
    def s(n):
        return small(n, shareable)
    tot = report.totals
    p0 = report.programs[0] if len(report.programs) == 1 else None
    if p0:
        subtitle = f"{_day_label(p0['starts_on'], lang, 'd MMM')} – {_day_label(p0['ends_on'], lang, 'd MMM y')} · {p0['country']}"
    else:
        subtitle = t(_("{n} programmes")).format(n=len(report.programs))
    figures = [
        (t(_("People served")), s(tot.people)),
        (t(_("Sessions held")), tot.sessions_held),
        (t(_("Seats offered")), tot.seats),
        (t(_("Seats taken")), s(tot.seats_taken)),
        (t(_("Checked in")), s(tot.checked_in)),
        (t(_("No-shows")), s(tot.no_shows)),
        (t(_("Walk-ins")), s(tot.walk_ins)),
        (t(_("Waitlist demand never served")), s(tot.waitlist_unserved)),
        (t(_("Kits handed out")), s(tot.kits_handed_out)),
        (t(_("Residency days attended")), s(report.residency_days_attended)),
    ]
    days = report.by["day"]
    day_labels = [_day_label(r["key"], lang) for r in days]
    kinds = report.by["kind"]
    kind_labels = [t(KIND_LABELS.get(r["key"], r["key"])) for r in kinds]
    empty = t(_("Nothing to show yet."))

    def chart(cid: str, title_: str, desc: str, cats: list[str], series: list[tuple[str, list[int]]], first_header: str) -> ChartView:
        ser = [charts.Series(name, [s(v) for v in vals]) for name, vals in series]
        c = charts.Chart(id=cid, title=title_, desc=desc, categories=cats, series=ser, empty=empty)
        table = Table(id=f"{cid}-table", caption=title_, headers=[first_header] + [x.name for x in ser],
                      rows=[[cat] + [x.values[i] for x in ser] for i, cat in enumerate(cats)])
        return ChartView(c, charts.svg(c, t), table)

    chart_views = [
        chart("attendance-day", t(_("Attendance by day")), t(_("Admissions each day.")), day_labels,
              [(t(_("Checked in")), [r["checked_in"] for r in days])], t(_("Day"))),
        chart("attendance-kind", t(_("Attendance by kind of activity")), t(_("Admissions by kind of activity.")), kind_labels,
              [(t(_("Checked in")), [r["checked_in"] for r in kinds])], t(_("Kind"))),
        chart("demand-seats", t(_("Demand and seats by day")),
              t(_("Seats offered, seats taken and waitlist demand never served, each day.")), day_labels,
              [(t(_("Seats offered")), [r["seats"] for r in days]),
               (t(_("Seats taken")), [r["seats_taken"] for r in days]),
               (t(_("Waitlist demand never served")), [r["waitlist_unserved"] for r in days])], t(_("Day"))),
        chart("kits-time", t(_("Kits handed out over time")), t(_("Kits handed out each day.")),
              [_day_label(r["key"], lang) for r in report.kits_by_day],
              [(t(_("Kits handed out")), [r["kits_handed_out"] for r in report.kits_by_day])], t(_("Day"))),
    ]
    # The demand chart's seats offered are not a count of people: show them as they are.
    chart_views[2].chart.series[0].values = [r["seats"] for r in days]
    chart_views[2].table.rows = [[row[0], days[i]["seats"], *row[2:]] for i, row in enumerate(chart_views[2].table.rows)]
    chart_views[2].svg = charts.svg(chart_views[2].chart, t)

    dim_headers = [t(_("People served")), t(_("Sessions")), t(_("Seats offered")), t(_("Seats taken")), t(_("Checked in")),
                   t(_("No-shows")), t(_("Walk-ins")), t(_("Waitlist demand never served")), t(_("Kits handed out"))]

    def dim_row(label: str, r: dict) -> list[Any]:
        return [label, s(r["people"]), r["sessions"], r["seats"], s(r["seats_taken"]), s(r["checked_in"]), s(r["no_shows"]),
                s(r["walk_ins"]), s(r["waitlist_unserved"]), s(r["kits_handed_out"])]

    tables = []
    if len(report.programs) > 1:
        tables.append(Table("by-program", t(_("By programme")), [t(_("Programme")), t(_("Country"))] + dim_headers,
                            [[r["label"], r["country"], *dim_row("", r)[1:]] for r in report.by["program"]], numeric_from=2))
    tables += [
        Table("by-day", t(_("By day")), [t(_("Day"))] + dim_headers, [dim_row(day_labels[i], r) for i, r in enumerate(days)]),
        Table("by-kind", t(_("By kind of activity")), [t(_("Kind"))] + dim_headers,
              [dim_row(kind_labels[i], r) for i, r in enumerate(kinds)]),
        Table("by-space", t(_("By space")), [t(_("Space"))] + dim_headers, [dim_row(r["label"], r) for r in report.by["space"]]),
        # Sessions and seats belong to activities, not to a guest's language.
        Table("by-language", t(_("By the guest's language")), [t(_("Language"))] + dim_headers[:1] + dim_headers[3:],
              [dim_row(_language_label(r["key"], lang), r)[:2] + dim_row("", r)[4:] for r in report.by["language"]]),
        Table("by-country", t(_("By country of the programme")), [t(_("Country"))] + dim_headers,
              [dim_row(r["label"], r) for r in report.by["country"]]),
    ]
    act_rows = []
    for a in report.activities:
        name = f"{a['title']} ({t(KIND_LABELS.get(a['kind'], a['kind'])).lower()})"
        if a["cancelled"]:
            name += " – " + t(_("cancelled"))
        act_rows.append([name, _day_label(a["day"], lang), *dim_row("", a)[1:]])
    tables.append(Table("activities", t(_("Each activity")), [t(_("Activity")), t(_("Day"))] + dim_headers,
                        act_rows, numeric_from=2))
    if report.dinners:
        tables.append(Table("dinners", t(_("Dinner seat fill")),
                            [t(_("Dinner")), t(_("Seats")), t(_("Seats taken")), t(_("Seats filled")), t(_("Guests at the table"))],
                            [[d["title"], d["seats"], s(d["seats_taken"]),
                              (f"{d['fill']} %" if not shareable or d["seats_taken"] >= 5 else "–"),
                              s(d["seats_checked_in"])] for d in report.dinners]))
    residencies = [a for a in report.activities if a["kind"] == "residency"]
    if residencies:
        tables.append(Table("residencies", t(_("Residency days attended")),
                            [t(_("Residency")), t(_("Days")), t(_("Residents")), t(_("Days attended"))],
                            [[a["title"], a.get("days_offered", 0), s(a["confirmed"]), s(a["checked_in"])] for a in residencies]))
    tables.append(Table("items", t(_("Items handed out")), [t(_("Item")), t(_("Quantity"))],
                        [[i["name"], s(i["quantity"])] for i in report.items]))
    fb = report.feedback
    feedback = None
    if fb["enabled"] or fb["responses"]:
        rows = [[t(_("How do you feel now?")) + " " + t(MOOD_LABELS[m]), s(fb["mood"].get(m, 0))] for m in MOODS]
        rows += [[t(_("Would you come again?")) + " " + t(AGAIN_LABELS[a]), s(fb["again"].get(a, 0))] for a in AGAINS]
        feedback = Table("feedback", t(_("Anonymous feedback")), [t(_("Answer")), t(_("Count"))], rows)
    notes = [t(_("People served counts each guest once, by email, if they were admitted at least once; plus-ones count as seats, not people."))]
    if shareable:
        notes.append(t(_("To protect privacy, every count of people below 5 is shown as “<5”. No names, e-mails or answers are included.")))
    notes.append(t(_("Activities still to come count their confirmed guests as not checked in yet.")))
    return ReportView(lang=lang, title=title, subtitle=subtitle, shareable=shareable, figures=figures, charts=chart_views,
                      tables=tables, notes=notes, feedback=feedback)


__all__ = ["ChartView", "ReportView", "Table", "build_view", "mask"]
