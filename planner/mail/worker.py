"""Sends the outbox: claims due messages, sends them by SMTP, retries with backoff, never loses one.

Safe with several app workers: on PostgreSQL claims use FOR UPDATE SKIP LOCKED; on SQLite the
claim runs in an IMMEDIATE transaction. A claim pushes next_attempt_at ahead, so a worker that
dies mid-send leaves the message to be retried, not lost.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import aiosmtplib

from planner.clock import utcnow
from planner.db import is_postgres, raw, write_transaction
from planner.mail.render import render, to_email
from planner.mail.rules import backoff
from planner.mail.tables import OutboxMessage
from planner.redact import redact
from planner.settings import Settings

log = logging.getLogger("planner.mail")
CLAIM_SECONDS = 300
BATCH = 20


async def _claim(now: datetime) -> list[dict]:
    until = now + timedelta(seconds=CLAIM_SECONDS)
    if is_postgres():
        return await raw(
            "UPDATE outbox_message SET next_attempt_at = {}, attempts = attempts + 1 WHERE id IN ("
            "SELECT id FROM outbox_message WHERE sent_at IS NULL AND next_attempt_at <= {} "
            "ORDER BY id LIMIT {} FOR UPDATE SKIP LOCKED) RETURNING *",
            until, now, BATCH,
        )
    async with write_transaction():
        rows = await OutboxMessage.select().where(
            OutboxMessage.sent_at.is_null() & (OutboxMessage.next_attempt_at <= now)
        ).order_by(OutboxMessage.id).limit(BATCH)
        if rows:
            await OutboxMessage.update({
                OutboxMessage.next_attempt_at: until, OutboxMessage.attempts: OutboxMessage.attempts + 1,
            }).where(OutboxMessage.id.is_in([r["id"] for r in rows]))
    for r in rows:
        r["attempts"] += 1
    return rows


async def _send(settings: Settings, msg) -> None:
    kwargs = dict(hostname=settings.smtp_host, port=settings.smtp_port, timeout=15)
    if settings.smtp_user:
        kwargs.update(username=settings.smtp_user, password=settings.smtp_password or "")
    if settings.smtp_tls == "tls":
        kwargs["use_tls"] = True
    elif settings.smtp_tls == "starttls":
        kwargs["start_tls"] = True
    else:
        kwargs["start_tls"] = False
    await aiosmtplib.send(msg, **kwargs)


async def run_once(settings: Settings, *, now: datetime | None = None) -> dict:
    """Send what is due. Returns counts of sent, failed and logged messages."""
    now = now or utcnow()
    rows = await _claim(now)
    counts = {"sent": 0, "failed": 0, "logged": 0}
    for row in rows:
        if row["to_addr"].endswith(".invalid"):
            # Walk-ins and erased guests have placeholder addresses: nothing to send.
            await OutboxMessage.update({OutboxMessage.sent_at: now, OutboxMessage.last_error: "skipped: no address"}).where(OutboxMessage.id == row["id"])
            continue
        try:
            rendered = await render(row)
            if not settings.smtp_host:
                # The body carries the guest's personal link: logged with its token redacted.
                log.info("mail (no SMTP host set) to=%s subject=%s\n%s", row["to_addr"], rendered.subject, redact(rendered.text))
                await OutboxMessage.update({OutboxMessage.sent_at: now, OutboxMessage.last_error: "logged: no SMTP host set"}).where(OutboxMessage.id == row["id"])
                counts["logged"] += 1
                continue
            await _send(settings, to_email(settings, row["to_addr"], rendered))
            await OutboxMessage.update({OutboxMessage.sent_at: utcnow(), OutboxMessage.last_error: ""}).where(OutboxMessage.id == row["id"])
            counts["sent"] += 1
        except Exception as exc:  # noqa: BLE001 - any failure is retried later, never dropped
            log.warning("mail to %s failed (attempt %s): %s", row["to_addr"], row["attempts"], exc)
            await OutboxMessage.update({
                OutboxMessage.next_attempt_at: now + backoff(row["attempts"]),
                OutboxMessage.last_error: str(exc)[:500],
            }).where(OutboxMessage.id == row["id"])
            counts["failed"] += 1
    return counts


async def run_forever(settings: Settings, stop: asyncio.Event) -> None:
    from planner.rsvps.privacy import purge_sensitive_answers
    from planner.rsvps.rules import expire_offers

    last_purge = None
    while not stop.is_set():
        try:
            now = utcnow()
            await expire_offers(now=now)
            if last_purge is None or now - last_purge > timedelta(hours=1):
                await purge_sensitive_answers(now=now, retention_days=settings.sensitive_retention_days)
                last_purge = now
            counts = await run_once(settings, now=now)
            busy = counts["sent"] + counts["failed"] + counts["logged"] >= BATCH
        except Exception:  # noqa: BLE001
            log.exception("outbox worker round failed")
            busy = False
        if not busy:
            try:
                await asyncio.wait_for(stop.wait(), timeout=settings.outbox_poll_seconds)
            except asyncio.TimeoutError:
                pass
