"""create_app(): routes, templates, static files, sessions, CSRF, error handlers, startup and shutdown."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from planner import db, faults, redact
from planner.accounts.web import AccountApiController, PageAuthController, account_page_handlers
from planner.boundary import check_request
from planner.busy import InFlight
from planner.calendar import web as calendar_web
from planner.care import web as care_web
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.headers import security_headers
from planner.i18n import LazyText, _l, gettext
from planner.inventory import pages as inventory_pages
from planner.inventory import web as inventory_web
from planner.language_web import language_middleware
from planner.mail.worker import run_forever
from planner.openapi import declare_errors, openapi_config
from planner.paths import asset_dir
from planner.programs import pages as program_pages
from planner.reports import web as reports_web
from planner.resources import web as resources_web
from planner.rsvps import guest_pages
from planner.rsvps import pages as rsvp_pages
from planner.rsvps.web import GuestRsvpController, OrganizerRsvpController
from planner.scheduling import pages as scheduling_pages
from planner.scheduling.web import ActivityController, ProgramController, SpaceController
from planner.settings import Settings, get_settings
from planner.templating import configure_engine
from planner.throttle.web import GuessCounter, check_guesses
from planner.tickets import live_web, scanner_web
from planner.tickets import web as tickets_web
from planner.tickets.channels import channels_plugin
from planner.web_common import Out, provide_user

log = logging.getLogger("planner")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def _error_response(request: Request, status: int, detail: str, extra: Any = None, headers: dict | None = None) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"status_code": status, "detail": detail}
        if extra is not None:
            body["extra"] = extra
        return Response(body, status_code=status, headers=headers)
    if status == 401:
        return Redirect(f"/login?next={request.url.path}")
    return Template("error.html", context={"status": status, "detail": detail}, status_code=status, headers=headers)


def planner_error_handler(request: Request, exc: PlannerError) -> Response:
    return _error_response(request, exc.status_code, exc.message, exc.extra, exc.headers)


def msgspec_error_handler(request: Request, exc: Exception) -> Response:
    return _error_response(request, 400, _l("The request body is not valid: {problem}", problem=str(exc)).render())


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail
    extra = getattr(exc, "extra", None)
    if isinstance(exc, ValidationException) and extra:
        # msgspec's messages are readable: "Expected `int`, got `str` - at `$.capacity`".
        detail = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in extra) or detail
    elif detail in FRAMEWORK_DETAILS:
        # Litestar's own short words, in the request's language like every other message.
        detail = FRAMEWORK_DETAILS[detail].render()
    return _error_response(request, exc.status_code, detail, extra)


FRAMEWORK_DETAILS = {
    "Not Found": _l("That page was not found."),
    "Method Not Allowed": _l("That address does not take this kind of request."),
    "CSRF token verification failed": _l("This form has expired. Reload the page and try again."),
}


def internal_error_handler(request: Request, exc: Exception) -> Response:
    kind = faults.classify(exc)
    if kind == "unavailable":
        log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return _error_response(request, 503, gettext(faults.UNAVAILABLE),
                               headers={"retry-after": str(faults.RETRY_AFTER_SECONDS)})
    if kind == "invalid":
        log.warning("value refused by the database on %s %s: %s", request.method, request.url.path, exc)
        return _error_response(request, 400, gettext(faults.CANNOT_STORE))
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_response(request, 500, _l("Something went wrong on our side; nothing was changed. Please try again.").render())


class HealthOut(Out):
    """`ok` and `ok` when the database accepts a write; `error` and `cannot write` (with 503) when not."""
    status: str
    database: str


@get("/health", tags=["system"], responses={503: ResponseSpec(data_container=HealthOut, description="The database cannot be written to.")})
async def health() -> Response[HealthOut]:
    """200 only when the database accepts a write: a one-row update, committed."""
    try:
        await db.probe_write(utcnow())
        return Response(HealthOut(status="ok", database="ok"), headers={"cache-control": "no-store"})
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("health check: the database does not accept a write: %s: %s", type(exc).__name__, exc)
        return Response(HealthOut(status="error", database="cannot write"), status_code=503,
                        headers={"retry-after": str(faults.RETRY_AFTER_SECONDS), "cache-control": "no-store"})


async def _before_request(request: Request) -> None:
    """Every request: its inputs checked at the boundary (planner/boundary.py), then whether this
    client is still allowed to guess tokens and codes. (Its language is set by LanguageMiddleware.)"""
    await check_request(request)
    await check_guesses(request)


def _middleware(settings: Settings) -> list[Any]:
    # First, so that every answer (refusals from the guards below included) speaks the request's language.
    out: list[Any] = [language_middleware(secure=settings.base_url.startswith("https"))]
    if settings.trusted_proxies:
        # X-Forwarded-For is believed only from the configured proxies (PLANNER_TRUSTED_PROXIES).
        out.append(DefineMiddleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies)))
    out.append(DefineMiddleware(GuessCounter))
    # Counts requests in flight, so that the outbox worker gives way to them (planner.busy).
    out.append(DefineMiddleware(InFlight))
    return out


def create_app(settings: Settings | None = None, *, run_worker: bool = True) -> Litestar:
    settings = settings or get_settings()
    # Personal links carry their token in the query: keep them out of the access log and our own logs.
    redact.install("uvicorn.access", "uvicorn.error", "planner", "planner.mail", "litestar")
    route_handlers: list[Any] = [
        health,
        ProgramController, SpaceController, ActivityController,
        GuestRsvpController, OrganizerRsvpController,
        PageAuthController, AccountApiController, *account_page_handlers(),
        *program_pages.HANDLERS, *scheduling_pages.HANDLERS, *rsvp_pages.HANDLERS, *guest_pages.HANDLERS, *inventory_pages.HANDLERS,
        create_static_files_router(path="/static", directories=[asset_dir("static")], name="static",
                                   cache_control=None, include_in_schema=False),
    ]
    for area in (calendar_web, tickets_web, scanner_web, live_web, inventory_web, resources_web, care_web, reports_web):
        route_handlers.extend(area.routes())
    declare_errors(route_handlers)

    stop = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def on_startup() -> None:
        await db.start()
        if run_worker:
            stop.clear()
            tasks.append(asyncio.create_task(run_forever(settings, stop)))

    async def on_shutdown() -> None:
        stop.set()
        for t in tasks:
            # Long enough for the mail in flight to finish and be marked (the worker stops after it).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(t, timeout=30)
        tasks.clear()
        await db.stop()

    return Litestar(
        route_handlers=route_handlers,
        plugins=[channels_plugin(settings)],
        dependencies={"user": Provide(provide_user)},
        middleware=_middleware(settings),
        before_send=[security_headers(settings)],
        csrf_config=CSRFConfig(secret=settings.secret_key, exclude=["/api", "/static", "/health", "/schema"],
                               cookie_samesite="strict", cookie_secure=settings.base_url.startswith("https")),
        template_config=TemplateConfig(directory=asset_dir("templates"), engine=JinjaTemplateEngine, engine_callback=configure_engine),
        exception_handlers={
            PlannerError: planner_error_handler,
            msgspec.ValidationError: msgspec_error_handler,
            msgspec.DecodeError: msgspec_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
        type_encoders={LazyText: str},
        openapi_config=openapi_config("Festival wellness planner", "0.1.0"),
        before_request=_before_request,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=settings.debug,
    )
