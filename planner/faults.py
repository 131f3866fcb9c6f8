"""Which failures are the database's, not a bug: the app answers them honestly (503 with Retry-After,
or 400 for a value the database cannot hold) instead of 500.

Every write that matters runs in one transaction, so a failed statement leaves nothing half-written:
"nothing was changed" is true for these answers.
"""
from __future__ import annotations

import sqlite3

import asyncpg

from planner.i18n import _

RETRY_AFTER_SECONDS = 15
UNAVAILABLE = _("The database is not available right now, so nothing was changed. Please try again in a moment.")
CANNOT_STORE = _("A value in the request cannot be stored, so nothing was changed. Check the numbers, dates and text you sent.")

# SQLSTATE classes: 08 connection, 53 out of resources (disk full, too many connections), 57 operator
# intervention (shutdown, restart), 58 system error (I/O); and read-only transactions, and a database
# that does not accept connections right now.
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_PG_UNAVAILABLE_STATES = {"25006", "55000", "3D000"}
_SQLITE_UNAVAILABLE = (
    "database or disk is full", "readonly database", "unable to open database", "disk i/o error",
    "database is locked", "no such table: health_probe",
)


def classify(exc: BaseException) -> str | None:
    """'unavailable' (answer 503), 'invalid' (answer 400) or None (a bug: answer 500)."""
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        if state[:2] in _PG_UNAVAILABLE_CLASSES or state in _PG_UNAVAILABLE_STATES:
            return "unavailable"
        if state.startswith("22"):  # data exceptions: out of range, bad encoding, too long
            return "invalid"
        return None
    # InternalClientError: a pooled connection whose server process was just terminated (a restart),
    # caught before the client noticed the socket close.
    if isinstance(exc, (asyncpg.InterfaceError, asyncpg.InternalClientError, ConnectionError, TimeoutError)):
        return "unavailable"
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
        return "unavailable"
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "unavailable" if any(t in text for t in _SQLITE_UNAVAILABLE) else None
    if isinstance(exc, sqlite3.DatabaseError) and "malformed" not in str(exc).lower():
        return "unavailable" if "disk" in str(exc).lower() else None
    if isinstance(exc, OverflowError):  # an integer too large for SQLite
        return "invalid"
    return None
