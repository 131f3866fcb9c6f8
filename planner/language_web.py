"""The request's language, for every page and API call, and the cookie that remembers a guest's choice.

Order: the guest's choice (`?lang=` from the language switcher, then remembered in a cookie), then
the browser's Accept-Language (Babel's negotiation), then English; programme pages then put the
programme's default in English's place (`i18n.settle_for_program`).
"""
from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from litestar.middleware import DefineMiddleware

from planner import i18n

ONE_YEAR = 365 * 24 * 3600


class LanguageMiddleware:
    def __init__(self, app, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        asked = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang") or [None])[0]
        cookie = None
        if "cookie" in headers:
            jar = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # noqa: BLE001  (a malformed cookie header is the browser's problem, not a 500)
                jar = SimpleCookie()
            if i18n.COOKIE in jar:
                cookie = jar[i18n.COOKIE].value
        lang, source = i18n.choose(asked, cookie, headers.get("accept-language"))
        i18n.use(lang, source)
        remember = source == "asked" and cookie != lang

        async def send_with_cookie(message):
            if remember and message["type"] == "http.response.start":
                value = f"{i18n.COOKIE}={lang}; Path=/; Max-Age={ONE_YEAR}; SameSite=Lax"
                if self.secure:
                    value += "; Secure"
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", value.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def language_middleware(secure: bool = False):
    return DefineMiddleware(LanguageMiddleware, secure=secure)
