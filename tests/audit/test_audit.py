"""The audit log records events per programme, newest first, and refuses unknown actions."""
from __future__ import annotations

from datetime import timedelta

import pytest

from planner import clock
from planner.audit import rules as audit
from planner.audit.tables import AuditEvent


async def test_audit_records_and_lists_newest_first():
    now = clock.utcnow()
    actor = {"id": 7, "email": "org@example.org"}
    await audit.record("sensitive_viewed", now=now, program_id=1, actor=actor, subject="activity 3")
    await audit.record("member_removed", now=now + timedelta(seconds=1), program_id=1, actor=actor, subject="user 9")
    await audit.record("member_removed", now=now, program_id=2, actor=actor)
    rows = await audit.events(1)
    assert [r["action"] for r in rows] == ["member_removed", "sensitive_viewed"]
    assert rows[0]["actor_label"] == "org@example.org" and rows[0]["subject"] == "user 9"


async def test_audit_refuses_an_unknown_action():
    with pytest.raises(ValueError):
        await audit.record("looked_around", now=clock.utcnow(), program_id=1)
    assert await AuditEvent.count() == 0
