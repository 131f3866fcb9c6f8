"""The impact report over HTTP: the JSON API, the page (full or shareable), the PDF and CSV for funders,
the report across all programmes for administrators, and the guest's one-tap feedback."""
from __future__ import annotations

from typing import Any, Literal

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from planner.clock import utcnow
from planner.errors import PlannerError
from planner.i18n import _, translations
from planner.reports import feedback, rules
from planner.reports.files import report_csv, report_pdf
from planner.reports.view import build_view
from planner.templating import current_language
from planner.web_common import Form, NoCheck, Out, User, typed

PRIVATE = {"cache-control": "private, no-store"}

# A count of people: below 5 it is the string "<5" in the shareable version.
People = int | Literal["<5"]


class ReportActivityOut(Out):
    id: int
    title: str
    kind: str
    seats: int
    confirmed: People
    checked_in: People
    no_shows: People
    waitlist_unserved: People
    kits_handed_out: People
    people: People
    seats_taken: People
    walk_ins: People
    sessions: int
    cancelled: bool


class ReportDimOut(Out):
    """The counts of one day, kind or language (`key`)."""
    key: str
    people: People
    sessions: int
    seats: int
    confirmed: People
    seats_taken: People
    checked_in: People
    no_shows: People
    waitlist_unserved: People
    walk_ins: People
    kits_handed_out: People


class ReportSpaceOut(ReportDimOut):
    """The counts of one space (`key` is its id)."""
    key: int


class HandedOutOut(Out):
    name: str
    quantity: People


class DinnerOut(Out):
    id: int
    title: str
    seats: int
    seats_taken: People


class FeedbackOut(Out):
    """Answers to the one-tap questions: mood 1-5 and again yes/maybe/no, each a count of people."""
    mood: dict[str, People]
    again: dict[str, People]
    responses: People


class ReportOut(Out):
    """The impact report (API.md): `people` counts distinct guests admitted at least once."""
    people: People
    confirmed: People
    checked_in: People
    no_shows: People
    waitlist_unserved: People
    kits_handed_out: People
    activities: list[ReportActivityOut]
    shareable: bool
    sessions_held: int
    seats: int
    seats_taken: People
    walk_ins: People
    residency_days_attended: People
    items_handed_out: list[HandedOutOut]
    by_day: list[ReportDimOut]
    by_kind: list[ReportDimOut]
    by_space: list[ReportSpaceOut]
    by_language: list[ReportDimOut]
    dinners: list[DinnerOut]
    feedback: FeedbackOut


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _title(report: rules.Report) -> str:
    t = translations(current_language.get()).gettext
    if len(report.programs) == 1:
        return t(_("Impact report: {name}")).format(name=report.programs[0]["name"])
    return t(_("Impact report: all programmes"))


def _generated(now) -> str:
    t = translations(current_language.get()).gettext
    return t(_("Made with the wellness planner on {date}")).format(date=now.strftime("%Y-%m-%d"))


@get("/api/programs/{program_id:int}/report", tags=["report"], summary="The programme's impact report")
async def report_api(program_id: int, shareable: str | None = None, user: User = NoCheck) -> Response[ReportOut]:
    """Organizers only. With `?shareable=true`, every count of people below 5 is the string "<5"."""
    report = await rules.program_report(program_id, user=user, now=utcnow())
    return Response(typed(ReportOut, rules.api_out(report, shareable=_flag(shareable))), headers=PRIVATE)


def _page(report: rules.Report, *, user: User, shareable: bool, base: str, program: dict | None,
          feedback_on: bool | None = None, message: str | None = None) -> Template:
    view = build_view(report, lang=current_language.get(), shareable=shareable, title=_title(report))
    return Template("reports/report.html", context={
        "user": user, "view": view, "base": base, "program": program, "shareable": shareable,
        "feedback_on": feedback_on, "message": message,
    }, headers=PRIVATE)


@get("/programs/{program_id:int}/report", include_in_schema=False)
async def report_page(request: Request, program_id: int, shareable: str | None = None, user: User = NoCheck) -> Template:
    report = await rules.program_report(program_id, user=user, now=utcnow())
    return _page(report, user=user, shareable=_flag(shareable), base=f"/programs/{program_id}/report",
                 program=report.programs[0], feedback_on=report.feedback["enabled"], message=request.query_params.get("m"))


@get("/programs/{program_id:int}/report.pdf", include_in_schema=False)
async def report_pdf_file(program_id: int, user: User = NoCheck) -> Response[bytes]:
    """The funders' version: always shareable."""
    now = utcnow()
    report = await rules.program_report(program_id, user=user, now=now)
    view = build_view(report, lang=current_language.get(), shareable=True, title=_title(report))
    return Response(report_pdf(view, generated=_generated(now)), media_type="application/pdf", headers={
        **PRIVATE, "content-disposition": f'attachment; filename="impact-report-{program_id}.pdf"'})


@get("/programs/{program_id:int}/report.csv", include_in_schema=False)
async def report_csv_file(program_id: int, user: User = NoCheck) -> Response[bytes]:
    """The funders' version: always shareable."""
    report = await rules.program_report(program_id, user=user, now=utcnow())
    view = build_view(report, lang=current_language.get(), shareable=True, title=_title(report))
    return Response(report_csv(view), media_type="text/csv; charset=utf-8", headers={
        **PRIVATE, "content-disposition": f'attachment; filename="impact-report-{program_id}.csv"'})


@post("/programs/{program_id:int}/report/feedback", include_in_schema=False, status_code=200)
async def feedback_setting(program_id: int, data: dict[str, Any] = Form, user: User = NoCheck) -> Redirect:
    on = await feedback.set_enabled(program_id, _flag(data.get("enabled")), user=user)
    return Redirect(f"/programs/{program_id}/report?m={'feedback_on' if on else 'feedback_off'}#feedback", status_code=303)


@post("/programs/{program_id:int}/report/follow-ups", include_in_schema=False, status_code=200)
async def follow_ups(program_id: int, user: User = NoCheck) -> Redirect:
    n = await feedback.send_follow_ups(program_id, user=user, now=utcnow())
    return Redirect(f"/programs/{program_id}/report?m=sent-{n}#feedback", status_code=303)


@get("/reports", include_in_schema=False)
async def all_reports_page(shareable: str | None = None, user: User = NoCheck) -> Template:
    report = await rules.all_programs_report(user=user, now=utcnow())
    return _page(report, user=user, shareable=_flag(shareable), base="/reports", program=None)


@get("/reports.pdf", include_in_schema=False)
async def all_reports_pdf(user: User = NoCheck) -> Response[bytes]:
    now = utcnow()
    report = await rules.all_programs_report(user=user, now=now)
    view = build_view(report, lang=current_language.get(), shareable=True, title=_title(report))
    return Response(report_pdf(view, generated=_generated(now)), media_type="application/pdf", headers={
        **PRIVATE, "content-disposition": 'attachment; filename="impact-report.pdf"'})


@get("/reports.csv", include_in_schema=False)
async def all_reports_csv(user: User = NoCheck) -> Response[bytes]:
    report = await rules.all_programs_report(user=user, now=utcnow())
    view = build_view(report, lang=current_language.get(), shareable=True, title=_title(report))
    return Response(report_csv(view), media_type="text/csv; charset=utf-8", headers={
        **PRIVATE, "content-disposition": 'attachment; filename="impact-report.csv"'})


@post("/feedback/{rsvp_id:int}", include_in_schema=False, status_code=200)
async def feedback_answer(rsvp_id: int, token: str | None = None, data: dict[str, Any] = Form) -> Redirect:
    """One tap from the guest's page: a face, or yes/maybe/no. Nothing about the guest is stored with it."""
    try:
        await feedback.answer(rsvp_id, token, data.get("question"), data.get("value"))
    except PlannerError as exc:
        if exc.code != "conflict":
            raise
        return Redirect(f"/r/{rsvp_id}?token={token}&m=feedback-closed#feedback", status_code=303)
    return Redirect(f"/r/{rsvp_id}?token={token}&m=feedback#feedback", status_code=303)


def routes() -> list:
    return [report_api, report_page, report_pdf_file, report_csv_file, feedback_setting, follow_ups,
            all_reports_page, all_reports_pdf, all_reports_csv, feedback_answer]
