"""Ceiling (a): a bare Litestar endpoint that decodes the scan body and answers, nothing else.

Served by uvicorn exactly like the planner (`uvicorn bench.ceiling_bare:create_app --factory`),
so the difference to the planner's figures is the planner's own work.
"""
from __future__ import annotations

import msgspec
from litestar import Litestar, get, post


class ScanIn(msgspec.Struct):
    code: str


@post("/api/checkins", status_code=200)
async def scan(data: ScanIn) -> dict[str, str]:
    return {"result": "admitted", "code": data.code}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    return Litestar(route_handlers=[scan, health], openapi_config=None)
