"""The outbox: messages are written in the transaction that causes them and sent later.

A guest message stores only its kind, the RSVP and a small context; the worker renders
the text, HTML and any calendar invite when it sends, so the hot path writes one row
and a message always tells what is true when it leaves.

Messages about an RSVP are written through `planner.rsvps.notices`, which also raises the
RSVP's sequence; this module knows nothing of RSVPs.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from planner.outbox.tables import OutboxMessage

KINDS = (
    "confirmed", "waitlisted", "applied", "promoted", "offered", "cancelled", "declined",
    "invitation", "activity_changed", "activity_cancelled", "offer_expired", "low_stock", "link_resent",
    "feedback", "reminder", "broadcast",
)

# ---------------------------------------------------------------- writing messages

def message_row(*, kind: str, to: str, rsvp_id: int | None = None, context: dict | None = None, now: datetime,
                subject: str = "", body_text: str = "", body_html: str = "", send_at: datetime | None = None) -> OutboxMessage:
    """`send_at` holds a message back (an undo window) until then; by default it is due at once."""
    return OutboxMessage(
        kind=kind, to_addr=to, rsvp=rsvp_id, context=context or {}, subject=subject,
        body_text=body_text, body_html=body_html, created_at=now, next_attempt_at=send_at or now,
    )


async def enqueue(**kwargs: Any) -> None:
    """Write one message that is not about an RSVP. Call inside the causing transaction."""
    if kwargs.get("rsvp_id") is not None:
        raise ValueError("A message about an RSVP goes through planner.rsvps.notices.enqueue.")
    await OutboxMessage.insert(message_row(**kwargs))


def message_id(row: dict, *, secret: str, domain: str) -> str:
    """The Message-ID of an outbox row: the same on every attempt, so a receiving server can drop a repeat.

    It names the row by a keyed hash, so it reveals neither the row's number nor how much mail went out.
    """
    created = row["created_at"].isoformat() if isinstance(row["created_at"], datetime) else str(row["created_at"])
    key = f"outbox:{row['id']}:{created}".encode()
    digest = hmac.new(secret.encode(), key, hashlib.sha256).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))
