"""Exactly once across restarts: `planner serve` as a real process, a real (slow) SMTP server, stopped mid-batch.

Graceful (SIGTERM): the message in flight is finished and marked, the rest of the claim handed
back; started again, every message arrives exactly once and the pending ones start within
seconds. Killed (SIGKILL): the dead worker's leases run out within seconds; at most the one
message in flight arrives twice, with the same Message-ID.
"""
from __future__ import annotations

import asyncio
import email
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from planner.clock import utcnow
from planner.mail.worker import LEASE
from planner.outbox.rules import enqueue
from planner.outbox.tables import OutboxMessage
from tests.mail.smtp import free_port, start

MESSAGES = 30
DELAY = 0.25  # the server takes this long to accept each message: a batch takes seconds


def _planner() -> str:
    found = Path(sys.executable).with_name("planner")
    if found.exists():
        return str(found)
    which = shutil.which("planner")
    assert which, "the `planner` command is not installed: run `pip install .` first"
    return which


@pytest.fixture
def smtp():
    controller, inbox = start()
    inbox.delay = DELAY
    yield controller, inbox
    controller.stop()


class Server:
    def __init__(self, smtp_port: int, log: Path):
        self.port = free_port()
        env = {**os.environ, "PLANNER_SMTP_HOST": "127.0.0.1", "PLANNER_SMTP_PORT": str(smtp_port),
               "PLANNER_SMTP_TLS": "none", "PLANNER_OUTBOX_POLL": "0.5"}
        self.log = log.open("a")
        self.proc = subprocess.Popen([_planner(), "serve", "--port", str(self.port)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    async def ready(self) -> float:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, "planner serve exited"
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/health", timeout=2)).status_code == 200:
                        return time.monotonic()
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("planner serve did not answer /health")

    async def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert self.proc.poll() is not None, "planner serve did not exit"
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def until(predicate, timeout: float) -> float:
    start_at = time.monotonic()
    while not predicate():
        assert time.monotonic() - start_at < timeout, "timed out"
        await asyncio.sleep(0.05)
    return time.monotonic()


async def queue_messages() -> None:
    now = utcnow()
    for i in range(MESSAGES):
        await enqueue(kind="notice", to=f"guest{i}@example.org", subject=f"Notice {i}", body_text=f"Message {i}.", now=now)


def by_recipient(inbox) -> Counter:
    return Counter(email.message_from_bytes(raw)["To"] for raw in inbox.raw)


def message_ids(inbox, to: str) -> set[str]:
    return {email.message_from_bytes(raw)["Message-ID"] for raw in inbox.raw if email.message_from_bytes(raw)["To"] == to}


async def test_graceful_restart_in_the_middle_of_a_batch_sends_every_mail_once(smtp, tmp_path):
    _, inbox = smtp
    await queue_messages()
    first = Server(smtp[0].port, tmp_path / "serve.log")
    try:
        await first.ready()
        await until(lambda: len(inbox.raw) >= 5, timeout=60)
        first.proc.send_signal(signal.SIGTERM)
        assert await first.wait(timeout=40) in (0, -signal.SIGTERM)
    finally:
        first.close()
    stopped_with = len(inbox.raw)
    assert 5 <= stopped_with < MESSAGES, "the stop must fall in the middle of the batch"
    rows = await OutboxMessage.select().order_by(OutboxMessage.id)
    # What the server accepted is exactly what is marked sent; nothing is left claimed.
    assert sum(1 for r in rows if r["sent_at"] is not None) == stopped_with
    assert all(r["claimed_by"] == "" for r in rows)
    assert all(r["next_attempt_at"] <= utcnow() for r in rows if r["sent_at"] is None)

    second = Server(smtp[0].port, tmp_path / "serve.log")
    try:
        up = await second.ready()
        resumed = await until(lambda: len(inbox.raw) > stopped_with, timeout=30)
        await until(lambda: len(inbox.raw) >= MESSAGES, timeout=60)
        await asyncio.sleep(1.5)  # nothing more comes
    finally:
        second.proc.send_signal(signal.SIGTERM)
        await second.wait(timeout=40)
        second.close()
    assert resumed - up < 5, f"the pending mail waited {resumed - up:.1f} s after the restart"
    counts = by_recipient(inbox)
    assert len(counts) == MESSAGES and set(counts.values()) == {1}, counts
    assert await OutboxMessage.count().where(OutboxMessage.sent_at.is_null()) == 0


async def test_kill_9_in_the_middle_of_a_batch_resends_at_most_the_one_in_flight(smtp, tmp_path):
    _, inbox = smtp
    await queue_messages()
    first = Server(smtp[0].port, tmp_path / "serve.log")
    try:
        await first.ready()
        await until(lambda: len(inbox.raw) >= 5, timeout=60)
        await asyncio.sleep(DELAY / 2)  # most likely inside the server's DATA: the worst moment
        first.proc.send_signal(signal.SIGKILL)
        await first.wait(timeout=10)
    finally:
        first.close()
    killed_at = time.monotonic()
    # A lease held by the dead worker runs out within seconds, not minutes.
    claimed = await OutboxMessage.select().where(OutboxMessage.claimed_by != "")
    assert all(r["next_attempt_at"] <= utcnow() + LEASE for r in claimed)
    before = len(inbox.raw)

    second = Server(smtp[0].port, tmp_path / "serve.log")
    try:
        up = await second.ready()
        resumed = await until(lambda: len(inbox.raw) > before, timeout=60)
        await until(lambda: len(by_recipient(inbox)) >= MESSAGES, timeout=60)
        await asyncio.sleep(1.5)
    finally:
        second.proc.send_signal(signal.SIGTERM)
        await second.wait(timeout=40)
        second.close()
    # Once a worker lives again, the dead one's mail moves as soon as its lease runs out (at most LEASE after the kill).
    waited = resumed - max(up, killed_at)
    assert waited < LEASE.total_seconds() + 4, f"pending mail waited {waited:.1f} s after the restart (up {up - killed_at:.1f} s after the kill)"
    counts = by_recipient(inbox)
    assert len(counts) == MESSAGES
    twice = [to for to, n in counts.items() if n > 1]
    assert len(twice) <= 1 and all(n <= 2 for n in counts.values()), counts
    for to in twice:
        assert len(message_ids(inbox, to)) == 1  # the repeat is recognisably the same message
    assert await OutboxMessage.count().where(OutboxMessage.sent_at.is_null()) == 0
