"""Every JSON answer is a response struct (planner.web_common.Out), so /schema documents every body.

Read from the app's own route table: a handler answers a struct or a list of structs (Response[...] around
it is fine), nothing (204), a page (Template, Redirect), a stream, or a file named below with the reason.
A bare dict, list or Any fails here, as does a JSON body in /schema that is not a documented object."""
from __future__ import annotations

import types
import typing

import pytest
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect, ServerSentEvent, Template

from planner.app import create_app
from planner.openapi import body_type
from planner.web_common import Out

# Handlers whose body is not JSON, each with why it stays as it is.
FILES = {
    "planner.calendar.web.guest_calendar": "a guest's calendar feed (text/calendar)",
    "planner.calendar.web.program_calendar": "the programme's public calendar feed (text/calendar)",
    "planner.calendar.web.rsvp_invite": "an RSVP's invite (text/calendar)",
    "planner.calendar.web.user_calendar": "a team member's calendar feed (text/calendar)",
    "planner.inventory.web.InventoryController.ledger_csv": "the stock ledger as CSV",
    "planner.inventory.web.InventoryController.stock_csv": "stock levels as CSV",
    "planner.rsvps.web.OrganizerRsvpController.export": "an activity's RSVPs as CSV",
    "planner.reports.web.all_reports_csv": "the report across programmes as CSV",
    "planner.reports.web.all_reports_pdf": "the report across programmes as PDF",
    "planner.reports.web.report_csv_file": "a programme's report as CSV",
    "planner.reports.web.report_pdf_file": "a programme's report as PDF",
    "planner.resources.help_web.help_country": "a help hub page (HTML, gzipped for bad connections)",
    "planner.resources.help_web.help_index": "the help hub's first page (HTML, gzipped for bad connections)",
    "planner.resources.help_web.help_licence": "the emergency numbers' licence (plain text)",
    "planner.resources.help_web.help_worker": "the help hub's service worker (JavaScript)",
    "planner.tickets.scanner_web.scanner_worker": "the scanner's service worker (JavaScript)",
    "planner.tickets.web.ticket_card": "a printable ticket (PNG)",
    "planner.tickets.web.ticket_png": "a ticket's QR code (PNG)",
    "planner.tickets.web.ticket_svg": "a ticket's QR code (SVG)",
    "planner.tickets.web.tickets_pdf": "an activity's tickets (PDF)",
}
# Pages and the live stream: HTML or redirects for browsers, and server-sent events (documented as StreamEvent).
NOT_JSON = (Template, Redirect, ServerSentEvent)


def _name(h: HTTPRouteHandler) -> str:
    return f"{h.fn.__module__}.{h.fn.__qualname__}"


def _handlers() -> list[HTTPRouteHandler]:
    app = create_app(run_worker=False)
    out: dict[str, HTTPRouteHandler] = {}
    for route in app.routes:
        for h in getattr(route, "route_handlers", []):
            if isinstance(h, HTTPRouteHandler) and h.fn.__module__.startswith("planner."):
                out.setdefault(_name(h), h)
    return list(out.values())


def _is_struct(t: typing.Any) -> bool:
    if typing.get_origin(t) is list:
        (t,) = typing.get_args(t)
    return isinstance(t, type) and issubclass(t, Out)


def _not_json(t: typing.Any) -> bool:
    parts = typing.get_args(t) if typing.get_origin(t) in (typing.Union, types.UnionType) else (t,)
    return all(isinstance(p, type) and issubclass(p, NOT_JSON) for p in parts)


def _verdict(h: HTTPRouteHandler) -> str | None:
    """None when the handler's answer is documented; otherwise what is wrong."""
    t = body_type(h)
    if t in (None, type(None)) or _is_struct(t) or _not_json(t):
        return None
    if t is bytes and h.responses and _is_struct(getattr(h.responses.get(h.status_code), "data_container", None)):
        return None  # JSON encoded by the handler itself (an ETag, gzip), its struct declared in `responses`
    if _name(h) in FILES:
        return None
    return f"answers {t!r}: give it a response struct (a subclass of web_common.Out), or list it in FILES with the reason"


def test_every_json_handler_answers_a_response_struct():
    handlers = _handlers()
    assert len(handlers) > 100
    bad = {_name(h): v for h in handlers if (v := _verdict(h))}
    assert not bad, bad


def test_the_files_list_names_only_handlers_that_exist_and_are_not_json():
    by_name = {_name(h): h for h in _handlers()}
    for name in FILES:
        assert name in by_name, f"{name} is no longer a handler: take it off FILES"
        t = body_type(by_name[name])
        assert not _is_struct(t), f"{name} answers a struct now: take it off FILES"


@pytest.mark.parametrize("bad", [dict, dict[str, typing.Any], list[dict], typing.Any, Response[dict[str, typing.Any]]])
def test_a_bare_dict_list_or_any_is_refused(bad):
    """The check itself: a handler annotated with a bare shape is reported."""
    async def handler() -> None:
        return None

    handler.__annotations__["return"] = bad
    h = get("/x")(handler)
    assert _verdict(h) is not None


def _schemas(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_every_json_body_in_the_schema_is_a_documented_object():
    """In /schema itself: each success answer in JSON names a struct with its properties (or a list of them)."""
    schema = create_app(run_worker=False).openapi_schema.to_schema()
    checked = 0
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for code, answer in op.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                for media, content in (answer.get("content") or {}).items():
                    if "json" not in media:
                        continue
                    body = content.get("schema", {})
                    if body.get("type") == "array":
                        body = body.get("items", {})
                    assert "$ref" in body, (method, path, code, body)
                    target = _schemas(schema, body)
                    assert target.get("type") == "object" and target.get("properties"), (method, path, code, target)
                    checked += 1
    assert checked > 60
