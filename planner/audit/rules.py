"""Recording and reading audit events. Every place that shows or exports sensitive answers, changes a
role, removes a member, erases a guest or admits anyway records one event here."""
from __future__ import annotations

from datetime import datetime

from planner.audit.tables import AuditEvent

ACTIONS = {
    "sensitive_viewed", "sensitive_exported", "role_changed", "member_added", "member_removed",
    "guest_erased", "admitted_anyway", "care_opened", "password_reset", "sessions_ended",
    "member_invited", "organizer_restored", "password_changed", "program_deleted", "guest_searched",
}


async def record(action: str, *, now: datetime, program_id: int | None = None, actor: dict | None = None,
                 subject: str = "", detail: str = "") -> None:
    """Write one event. `actor` is the acting user's row (id and email), or None for a guest or the system."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    await AuditEvent.insert(AuditEvent(
        program=program_id, actor=actor["id"] if actor else None, actor_label=(actor or {}).get("email", "")[:254],
        action=action, subject=subject[:200], detail=detail[:500], at=now,
    ))


ACCOUNT_ACTIONS = ("password_reset", "password_changed")


async def events(program_id: int, *, member_ids: list[int] = (), limit: int = 200) -> list[dict]:
    """The programme's events, newest first, with the account events (a password reset or change) of the
    people who work on it now (`member_ids`)."""
    mine = AuditEvent.program == program_id
    if member_ids:
        mine |= AuditEvent.program.is_null() & AuditEvent.actor.is_in(list(member_ids)) & AuditEvent.action.is_in(list(ACCOUNT_ACTIONS))
    return await (AuditEvent.select().where(mine)
                  .order_by(AuditEvent.at, ascending=False).order_by(AuditEvent.id, ascending=False).limit(limit))
