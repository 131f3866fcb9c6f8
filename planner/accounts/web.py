"""Login and logout pages."""
from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from planner.accounts import rules
from planner.clock import utcnow
from planner.errors import PlannerError
from planner.settings import get_settings


def _safe_next(value: str | None) -> str:
    # Only local paths: never redirect to another site after login.
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


class PageAuthController(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, next: str | None = None) -> Template:
        return Template("accounts/login.html", context={"next": _safe_next(next), "error": None, "email": ""})

    @post("/login", status_code=200)
    async def login(self, request: Request, data: dict[str, Any] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> Template | Redirect:
        s = get_settings()
        email = str(data.get("email", ""))
        try:
            user = await rules.authenticate(email, str(data.get("password", "")), now=utcnow(),
                                            attempts=s.login_attempts, window_seconds=s.login_window_seconds)
        except PlannerError as exc:
            return Template("accounts/login.html", context={"next": _safe_next(data.get("next")), "error": exc.message, "email": email},
                            status_code=exc.status_code)
        request.clear_session()
        request.set_session({"user_id": user["id"]})
        return Redirect(_safe_next(data.get("next")), status_code=303)

    @post("/logout", status_code=303)
    async def logout(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/login", status_code=303)
