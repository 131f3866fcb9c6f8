"""Sends the outbox: claims due messages, sends them by SMTP, retries with backoff, never loses one.

Exactly once, as near as SMTP allows:

- A claim is a short lease (`LEASE`), held by one worker (`claimed_by`) and renewed
  every few seconds while that worker lives. A worker that dies (kill -9, a lost
  machine) stops renewing, and its messages are due again within seconds.
- On PostgreSQL claims use FOR UPDATE SKIP LOCKED; on SQLite the claim runs in an
  IMMEDIATE transaction. A message is claimable only when no earlier message about
  the same RSVP is still unsent, so a guest's messages leave in order, one at a time.
- Each message is rendered before its SMTP transaction starts; the moment the server
  accepts it, one UPDATE marks it sent. That send and its mark are shielded from
  cancellation, and on shutdown the worker finishes the message in flight, marks it,
  then hands back (releases) what it claimed but did not send.
- The Message-ID is derived from the row, so the one message that can go twice (the
  server accepted it, then the process died before the mark) carries the same
  Message-ID both times, and receiving servers can drop the repeat.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

import aiosmtplib
from piccolo.query.functions.aggregate import Min

from planner.busy import GiveWay
from planner.clock import utcnow
from planner.db import is_postgres, raw, write_transaction
from planner.mail.render import Letter, compose
from planner.outbox.rules import backoff
from planner.outbox.tables import OutboxMessage
from planner.privacy import purge_sensitive_answers
from planner.redact import redact
from planner.rsvps.messages import send_due_reminders
from planner.rsvps.waitlist import expire_offers
from planner.settings import Settings

log = logging.getLogger("planner.mail")
# Kinds whose text is nobody's business but the reader's: never written to the log.
PRIVATE_KINDS = {"care"}
LEASE = timedelta(seconds=10)
RENEW_SECONDS = 3.0
BATCH = 20
SMTP_TIMEOUT = 15


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


CLAIM_PG = """
UPDATE outbox_message SET next_attempt_at = {}, attempts = attempts + 1, claimed_by = {}
WHERE id IN (
  SELECT o.id FROM outbox_message o
  WHERE o.sent_at IS NULL AND o.next_attempt_at <= {}
    AND NOT EXISTS (SELECT 1 FROM outbox_message e WHERE e.rsvp = o.rsvp AND e.sent_at IS NULL AND e.id < o.id)
  ORDER BY o.id LIMIT {} FOR UPDATE SKIP LOCKED)
RETURNING *
"""


class Outbox:
    """One worker's hold on the outbox: its claims, their lease, and the sending."""

    def __init__(self, settings: Settings, *, name: str | None = None, stop: asyncio.Event | None = None):
        self.settings = settings
        self.name = name or worker_name()
        self.stop = stop or asyncio.Event()
        self.give_way = GiveWay()

    # ---------------------------------------------------------------- claims

    async def claim(self, now: datetime) -> list[dict]:
        until = now + LEASE
        if is_postgres():
            rows = await raw(CLAIM_PG, until, self.name, now, BATCH)
            return sorted(rows, key=lambda row: row["id"])
        async with write_transaction():
            due = await OutboxMessage.select().where(
                OutboxMessage.sent_at.is_null() & (OutboxMessage.next_attempt_at <= now)
            ).order_by(OutboxMessage.id).limit(BATCH * 5)
            rsvps = list({row["rsvp"] for row in due if row["rsvp"] is not None})
            first: dict[int, int] = {}
            if rsvps:
                for row in await OutboxMessage.select(OutboxMessage.rsvp, Min(OutboxMessage.id)).where(
                    OutboxMessage.sent_at.is_null() & OutboxMessage.rsvp.is_in(rsvps)
                ).group_by(OutboxMessage.rsvp):
                    first[row["rsvp"]] = row["min"]
            rows = [row for row in due if row["rsvp"] is None or first.get(row["rsvp"]) == row["id"]][:BATCH]
            if rows:
                await OutboxMessage.update({
                    OutboxMessage.next_attempt_at: until, OutboxMessage.attempts: OutboxMessage.attempts + 1,
                    OutboxMessage.claimed_by: self.name,
                }).where(OutboxMessage.id.is_in([row["id"] for row in rows]))
        for row in rows:
            row["attempts"] += 1
            row["claimed_by"] = self.name
        return rows

    async def renew(self) -> None:
        """Push the lease of everything this worker holds a few seconds ahead."""
        await OutboxMessage.update({OutboxMessage.next_attempt_at: utcnow() + LEASE}).where(
            (OutboxMessage.claimed_by == self.name) & OutboxMessage.sent_at.is_null()
        )

    async def release(self) -> None:
        """Hand back what this worker claimed and did not send: due now, for anyone, not counted as an attempt."""
        await OutboxMessage.update({
            OutboxMessage.next_attempt_at: utcnow(), OutboxMessage.claimed_by: "",
            OutboxMessage.attempts: OutboxMessage.attempts - 1,
        }).where((OutboxMessage.claimed_by == self.name) & OutboxMessage.sent_at.is_null())

    async def keep_leases(self) -> None:
        """Renew this worker's leases until cancelled."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await self.renew()
            except Exception:  # noqa: BLE001 - a missed renewal only lets another worker take over
                log.exception("renewing outbox leases failed")

    # ---------------------------------------------------------------- marks

    async def _done(self, letter: Letter, note: str, *, at: datetime | None = None) -> None:
        # The one statement between the server's acceptance and the record of it.
        await OutboxMessage.update({
            OutboxMessage.sent_at: at or utcnow(), OutboxMessage.claimed_by: "", OutboxMessage.last_error: note,
            OutboxMessage.ics_method: letter.method,
        }).where(OutboxMessage.id == letter.row_id)
        if letter.merged:
            await OutboxMessage.update({
                OutboxMessage.sent_at: at or utcnow(), OutboxMessage.claimed_by: "",
                OutboxMessage.last_error: f"superseded: told by message {letter.row_id}",
            }).where(OutboxMessage.id.is_in(letter.merged) & OutboxMessage.sent_at.is_null())

    async def _failed(self, row: dict, exc: BaseException, now: datetime) -> None:
        log.warning("mail %s failed (attempt %s): %s", row["id"], row["attempts"], exc)
        await OutboxMessage.update({
            OutboxMessage.next_attempt_at: now + backoff(row["attempts"]), OutboxMessage.claimed_by: "",
            OutboxMessage.last_error: str(exc)[:500],
        }).where(OutboxMessage.id == row["id"])

    # ---------------------------------------------------------------- sending

    def _smtp(self) -> aiosmtplib.SMTP:
        s = self.settings
        kwargs: dict = dict(hostname=s.smtp_host, port=s.smtp_port, timeout=SMTP_TIMEOUT)
        if s.smtp_user:
            kwargs.update(username=s.smtp_user, password=s.smtp_password or "")
        if s.smtp_tls == "tls":
            kwargs["use_tls"] = True
        elif s.smtp_tls == "starttls":
            kwargs["start_tls"] = True
        else:
            kwargs["start_tls"] = False
        return aiosmtplib.SMTP(**kwargs)

    async def _deliver(self, smtp: aiosmtplib.SMTP, letter: Letter) -> None:
        if not smtp.is_connected:
            await smtp.connect()
        options = ["SMTPUTF8"] if letter.smtputf8 else None
        await smtp.sendmail(self.settings.mail_from, [letter.to], letter.data, mail_options=options)
        await self._done(letter, "")

    async def run_once(self, *, now: datetime | None = None) -> dict:
        """Send what is due. Returns counts of sent, failed, logged and superseded (or skipped) messages."""
        now = now or utcnow()
        rows = await self.claim(now)
        counts = {"sent": 0, "failed": 0, "logged": 0, "superseded": 0}
        smtp: aiosmtplib.SMTP | None = None
        try:
            for row in rows:
                if self.stop.is_set():
                    break  # the rest is released below
                if counts["sent"] + counts["logged"] + counts["superseded"] + counts["failed"]:
                    await self.give_way.rest()  # requests in flight go first: see planner.busy
                try:
                    with self.give_way:
                        letter = await compose(row, self.settings)
                    if letter.skip:
                        await self._done(letter, letter.skip, at=now)
                        counts["superseded"] += 1
                        continue
                    if not self.settings.smtp_host:
                        # The body carries the guest's personal link: logged with its token redacted.
                        # The body carries the guest's personal link (redacted here); a message to the care
                        # team is private, so only that it exists is logged.
                        body = "(private: kept in the outbox, not logged)" if row["kind"] in PRIVATE_KINDS else redact(letter.text)
                        log.info("mail (no SMTP host set) to=%s subject=%s\n%s", letter.to, letter.subject, body)
                        await self._done(letter, "logged: no SMTP host set", at=now)
                        counts["logged"] += 1
                        continue
                    smtp = smtp or self._smtp()
                    # Shielded: once started, the send and its mark finish even if the worker is cancelled.
                    delivery = asyncio.ensure_future(self._deliver(smtp, letter))
                    try:
                        await asyncio.shield(delivery)
                    except asyncio.CancelledError:
                        with contextlib.suppress(Exception):
                            await delivery
                        raise
                    counts["sent"] += 1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any failure is retried later, never dropped
                    await self._failed(row, exc, now)
                    counts["failed"] += 1
                    if smtp is not None:
                        # The connection may be in any state: start the next message on a fresh one.
                        with contextlib.suppress(Exception):
                            smtp.close()
                        smtp = None
        finally:
            if smtp is not None and smtp.is_connected:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(smtp.quit(), timeout=2)
            if rows:
                with contextlib.suppress(Exception):
                    await self.release()
        return counts

    async def run_forever(self) -> None:
        last_purge = None
        last_reminders = None
        leases = asyncio.create_task(self.keep_leases())
        try:
            while not self.stop.is_set():
                try:
                    now = utcnow()
                    await expire_offers(now=now)
                    if last_reminders is None or now - last_reminders >= timedelta(seconds=60):
                        await send_due_reminders(now=now)
                        last_reminders = now
                    if last_purge is None or now - last_purge > timedelta(hours=1):
                        await purge_sensitive_answers(now=now, retention_days=self.settings.sensitive_retention_days)
                        last_purge = now
                    counts = await self.run_once(now=now)
                    # Full batches, and dropped messages (which may have held up later ones), go round at once.
                    busy = sum(counts.values()) >= BATCH or counts["superseded"] > 0
                except Exception:  # noqa: BLE001
                    log.exception("outbox worker round failed")
                    busy = False
                if not busy:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.stop.wait(), timeout=self.settings.outbox_poll_seconds)
        finally:
            leases.cancel()
            with contextlib.suppress(BaseException):
                await leases
            with contextlib.suppress(Exception):
                await self.release()


async def run_once(settings: Settings, *, now: datetime | None = None) -> dict:
    """One round by a worker of its own (tests and scripts)."""
    return await Outbox(settings).run_once(now=now)


async def run_forever(settings: Settings, stop: asyncio.Event) -> None:
    await Outbox(settings, stop=stop).run_forever()
