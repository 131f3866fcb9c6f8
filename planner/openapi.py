"""What /schema says about every operation: the bearer security scheme and the error answers each
operation can give, declared in one place from the handler's own signature."""
from __future__ import annotations

import inspect
import typing
from typing import Any

import msgspec
from litestar import Controller, Response
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme


class ErrorBody(msgspec.Struct):
    """Every error: a status, a sentence a person understands, and sometimes details."""
    status_code: int
    detail: str
    extra: Any = None


class StreamEvent(msgspec.Struct, omit_defaults=True):
    """One server-sent event: `data` is a JSON text."""
    data: str = ""
    event: str | None = None
    id: str | None = None
    retry: int | None = None


DESCRIPTIONS = {
    400: "The request is not valid; `detail` says why in a sentence.",
    401: "Log in first: send `Authorization: Bearer <token>`.",
    403: "Your role in the programme does not allow this.",
    404: "Not found, or not yours to see (unknown ids, foreign programmes and wrong tokens look the same).",
    409: "It conflicts with the current state (a clash, a full slot, a closed activity, not enough stock).",
    410: "It is gone (an expired offer).",
    429: "Too many attempts; wait for the seconds in Retry-After.",
    503: "The database is not available right now; nothing was changed. Retry after the seconds in Retry-After.",
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def error_codes(handler: HTTPRouteHandler) -> set[int]:
    params = set(inspect.signature(handler.fn).parameters)
    codes = {400, 404, 429, 503}
    if "user" in params or "request" in params:
        codes |= {401, 403}
    if handler.http_methods & WRITES:
        codes |= {401, 403, 409, 410}
    return codes


def _success(handler: HTTPRouteHandler) -> ResponseSpec | None:
    """The 2xx body of a stream, whose return type does not say it. (Pre-encoded JSON declares its struct in
    `responses`; tests/structure/test_response_types.py checks that every JSON body is a struct.)"""
    returns = str(inspect.signature(handler.fn).return_annotation)
    if "ServerSentEvent" in returns:
        return ResponseSpec(data_container=StreamEvent, media_type="text/event-stream", description="Server-sent events.")
    return None


def body_type(handler: HTTPRouteHandler) -> Any:
    """What the handler answers on success: its return annotation, Response[T] read as T."""
    returns = typing.get_type_hints(handler.fn).get("return")
    if typing.get_origin(returns) is Response:
        (returns,) = typing.get_args(returns)
    return returns


def _declare(handler: HTTPRouteHandler) -> None:
    responses = dict(handler.responses or {})
    success = _success(handler)
    if success is not None:
        responses.setdefault(handler.status_code, success)
    for code in sorted(error_codes(handler)):
        responses.setdefault(code, ResponseSpec(data_container=ErrorBody, description=DESCRIPTIONS[code]))
    if handler.status_code == 201 and 202 not in responses:
        # A repeated create (same invitation, same delivery note) answers the first result with 200.
        responses.setdefault(200, ResponseSpec(data_container=body_type(handler), description="Already done: the earlier result."))
    handler.responses = responses


def declare_errors(route_handlers: list[Any]) -> None:
    """Add the error answers to every handler in the schema (controllers' handlers included)."""
    for item in route_handlers:
        handlers = []
        if isinstance(item, HTTPRouteHandler):
            handlers = [item]
        elif inspect.isclass(item) and issubclass(item, Controller):
            handlers = [v for v in vars(item).values() if isinstance(v, HTTPRouteHandler)]
        for h in handlers:
            if h.include_in_schema is not False and getattr(item, "include_in_schema", True) is not False:
                _declare(h)


def openapi_config(title: str, version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title, version=version, path="/schema",
        components=Components(security_schemes={
            "BearerToken": SecurityScheme(type="http", scheme="bearer",
                                          description="A token from POST /api/auth/token."),
        }),
        security=[{"BearerToken": []}],
    )
