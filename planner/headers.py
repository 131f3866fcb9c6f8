"""Security headers on every response: pages, API, static files and errors alike.

Sent from a `before_send` hook, which Litestar runs for every response the app sends, including
404s for unknown paths and errors raised before a handler runs.
"""
from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from planner.settings import Settings

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
FEATURES = "accelerometer=(), autoplay=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
# The scanner is the one page that may use the camera.
CAMERA_PATHS = ("/scan",)


def header_values(path: str, settings: Settings) -> dict[str, str]:
    camera = "camera=(self)" if path in CAMERA_PATHS else "camera=()"
    out = {
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "permissions-policy": f"{camera}, {FEATURES}",
        "cross-origin-opener-policy": "same-origin",
    }
    if settings.base_url.startswith("https://"):
        out["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return out


def security_headers(settings: Settings):
    cache: dict[str, dict[str, str]] = {}

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path = scope.get("path", "")
        values = cache.get(path) if path in CAMERA_PATHS else cache.get("")
        if values is None:
            values = header_values(path, settings)
            cache[path if path in CAMERA_PATHS else ""] = values
        headers = MutableScopeHeaders.from_message(message)
        for name, value in values.items():
            if name not in headers:
                headers[name] = value

    return before_send
