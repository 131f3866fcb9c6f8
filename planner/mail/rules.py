"""The outbox: messages are written in the transaction that causes them and sent later.

A guest message stores only its kind, the RSVP and a small context; the worker renders
the text, HTML and any calendar invite when it sends, so the hot path writes one row.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from planner.mail.tables import OutboxMessage

KINDS = (
    "confirmed", "waitlisted", "applied", "promoted", "offered", "cancelled", "declined",
    "invitation", "activity_changed", "activity_cancelled", "offer_expired", "low_stock", "link_resent",
    "feedback",
)


def message_row(*, kind: str, to: str, rsvp_id: int | None = None, context: dict | None = None, now: datetime,
                subject: str = "", body_text: str = "", body_html: str = "") -> OutboxMessage:
    return OutboxMessage(
        kind=kind, to_addr=to, rsvp=rsvp_id, context=context or {}, subject=subject,
        body_text=body_text, body_html=body_html, created_at=now, next_attempt_at=now,
    )


async def enqueue(**kwargs: Any) -> None:
    await OutboxMessage.insert(message_row(**kwargs))


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))
