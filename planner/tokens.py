"""Personal links without accounts: tokens derived from the secret key, so nothing extra is stored.

A guest's token is an HMAC of their RSVP id; rotating PLANNER_SECRET_KEY invalidates all links.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from planner.settings import get_settings


def _mac(purpose: str, value: str) -> str:
    key = get_settings().secret_key.encode()
    digest = hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def rsvp_token(rsvp_id: int) -> str:
    return _mac("rsvp", str(rsvp_id))


def _same(expected: str, given: str | None) -> bool:
    # compare_digest refuses non-ASCII str; compared as bytes, any unknown token is simply wrong.
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def check_rsvp_token(rsvp_id: int, token: str | None) -> bool:
    return _same(rsvp_token(rsvp_id), token)


def feed_token(kind: str, value: str) -> str:
    """Private calendar feeds: kind is 'guest' (programme:email) or 'user' (user id)."""
    return _mac(f"feed-{kind}", value)


def check_feed_token(kind: str, value: str, token: str | None) -> bool:
    return _same(feed_token(kind, value), token)


def new_code() -> str:
    """A ticket or invitation secret: 128 bits of randomness, URL-safe."""
    return secrets.token_urlsafe(16)
