"""Claims as leases: several workers at once, a worker that vanishes, a worker that stops."""
from __future__ import annotations

import asyncio
import dataclasses
import email
from collections import Counter
from datetime import timedelta

import pytest

from planner.clock import utcnow
from planner.mail.worker import LEASE, Outbox
from planner.outbox.rules import enqueue
from planner.outbox.tables import OutboxMessage
from planner.settings import get_settings
from tests.mail.smtp import start


@pytest.fixture
def smtp():
    controller, inbox = start()
    yield controller, inbox
    controller.stop()


def settings_for(port: int):
    return dataclasses.replace(get_settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")


async def queue(n: int, prefix: str = "guest") -> None:
    now = utcnow()
    for i in range(n):
        await enqueue(kind="notice", to=f"{prefix}{i}@example.org", subject=f"Notice {i}", body_text=f"Message {i}.", now=now)


async def test_outbox_workers_in_parallel_send_every_message_exactly_once(smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    await queue(45)
    workers = [Outbox(settings, name=f"w{i}") for i in range(4)]
    for _ in range(20):
        results = await asyncio.gather(*(w.run_once() for w in workers))
        if not any(sum(r.values()) for r in results):
            break
    counts = Counter(email.message_from_bytes(raw)["To"] for raw in inbox.raw)
    assert len(counts) == 45 and set(counts.values()) == {1}
    assert await OutboxMessage.count().where(OutboxMessage.sent_at.is_null()) == 0


async def test_a_vanished_workers_claims_are_due_again_once_the_lease_runs_out(smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    await queue(3)
    gone = Outbox(settings, name="gone")
    now = utcnow()
    claimed = await gone.claim(now)  # then it dies: no send, no renewal, no release
    assert len(claimed) == 3
    other = Outbox(settings, name="other")
    assert (await other.run_once(now=now))["sent"] == 0
    assert (await other.run_once(now=now + LEASE + timedelta(seconds=1)))["sent"] == 3
    assert len(inbox.raw) == 3


async def test_a_living_worker_renews_its_lease_and_a_stopping_one_hands_back_its_claims(smtp):
    controller, _ = smtp
    settings = settings_for(controller.port)
    await queue(2)
    holder = Outbox(settings, name="holder")
    claimed = await holder.claim(utcnow())
    assert len(claimed) == 2
    await asyncio.sleep(1.1)
    await holder.renew()
    rows = await OutboxMessage.select()
    assert all(r["next_attempt_at"] > utcnow() + LEASE - timedelta(seconds=1) for r in rows)
    await holder.release()
    rows = await OutboxMessage.select()
    assert all(r["claimed_by"] == "" and r["attempts"] == 0 and r["next_attempt_at"] <= utcnow() for r in rows)


async def test_a_guests_messages_leave_in_order_one_at_a_time(api, setup, client, smtp):
    controller, inbox = smtp
    settings = settings_for(controller.port)
    a = await api.activity(setup["program"]["id"], setup["space"]["id"], title="Tea", capacity=5)
    r = (await client.post(f"/api/activities/{a['id']}/rsvps", json={"name": "Ida", "email": "ida@example.org"})).json()
    await api.post(f"/api/activities/{a['id']}/cancel", {"reason": "Heat"}, expect=200)
    assert r["status"] == "confirmed"
    # Two workers at once: the later message about the RSVP is not claimable while the earlier one is unsent.
    first, second = Outbox(settings, name="a"), Outbox(settings, name="b")
    got = await first.claim(utcnow())
    assert [row["kind"] for row in got] == ["confirmed"]
    assert await second.claim(utcnow()) == []
    await first.release()
