"""Deliveries on the in-memory unit of work, receivers behind `httpx.MockTransport`: which
subscriptions an event reaches, the signed request, the retry schedule (the jitter fixed at
one half), giving up, and the SSRF check made again before every attempt. The SQL claims
(two workers, both databases) and real sockets and TLS are
tests/integration/test_webhooks.py and test_webhook_targets.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from clinicflow.infra.bus import Envelope
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.webhooks.commands import DeliveryFilter
from clinicflow.webhooks.domain.signing import verify
from clinicflow.webhooks.views import DeliveryView
from support.fake_webhooks import FakeWebhooks

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ADMIN = Actor(kind="user", id="root-id", role=Role.ADMIN)
URL = "https://crm.example.com/hooks"


def event(type_: str = "booking.created", event_id: str = "e1") -> Envelope:
    payload = {"booking_id": "b1", "start": "2026-11-25T16:00:00+00:00"}
    return Envelope(event_id, type_, 1, NOW, "booking", "b1", payload)


async def log(hooks: FakeWebhooks) -> list[DeliveryView]:
    return await hooks.service.list_deliveries(ADMIN, DeliveryFilter())


async def test_an_event_reaches_the_active_subscriptions_that_want_it_once() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    created = (await hooks.service.create(ADMIN, URL, ["booking.created"], None)).subscription
    every = (await hooks.service.create(ADMIN, URL + "/all", ["*"], None)).subscription
    await hooks.service.create(ADMIN, URL + "/cancel", ["booking.cancelled"], None)
    paused = (await hooks.service.create(ADMIN, URL + "/paused", ["*"], None)).subscription
    await hooks.service.update(ADMIN, paused.id, {"active": False})

    await hooks.fanout.handle(event())
    await hooks.fanout.handle(event())  # redelivered by the bus: nothing more

    found = await log(hooks)
    assert sorted(d.subscription_id for d in found) == sorted([created.id, every.id])
    assert {(d.status, d.attempt_count) for d in found} == {("delivered", 1)}
    assert len(hooks.receivers.received) == 2
    assert hooks.fanout.types >= {"booking.created", "payment.refunded"}


async def test_the_request_is_the_stored_body_signed_with_its_ids_in_headers() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    made = await hooks.service.create(ADMIN, URL, ["*"], None)
    await hooks.fanout.handle(event())

    [got] = hooks.receivers.received
    [delivery] = await log(hooks)
    assert verify(made.secret, got.headers["Clinicflow-Signature"], got.body, now=NOW) == int(
        NOW.timestamp()
    )
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "clinicflow-webhooks"
    assert got.headers["Clinicflow-Event-Id"] == "e1"
    assert got.headers["Clinicflow-Event-Type"] == "booking.created"
    assert got.headers["Clinicflow-Delivery-Id"] == delivery.id
    assert got.headers["Clinicflow-Attempt"] == "1"
    assert hooks.receivers.json() == {
        "id": "e1",
        "type": "booking.created",
        "version": 1,
        "occurred_at": NOW.isoformat(),
        "aggregate": {"type": "booking", "id": "b1"},
        "data": {"booking_id": "b1", "start": "2026-11-25T16:00:00+00:00"},
    }


async def test_the_request_goes_to_the_checked_address_with_the_name_kept() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    await hooks.service.create(ADMIN, "https://crm.example.com:8443/h?a=1", ["*"], None)
    await hooks.fanout.handle(event())
    [got] = hooks.receivers.received
    assert got.url == "https://93.184.215.14:8443/h?a=1"
    assert got.headers["Host"] == "crm.example.com:8443"
    assert hooks.dns.asked == ["crm.example.com", "crm.example.com"]  # subscribing, sending


async def test_failures_are_retried_on_the_schedule_and_given_up_after_the_last() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    await hooks.service.create(ADMIN, URL, ["*"], None)
    hooks.receivers.answer(then=500)
    await hooks.fanout.handle(event())

    waits = []
    while (pending := (await log(hooks))[0]).status == "pending":
        assert pending.next_attempt_at is not None
        assert await hooks.sender.send_due(hooks.clock.now()) == 0  # not due yet
        waits.append(pending.next_attempt_at - hooks.clock.now())
        hooks.clock.set(pending.next_attempt_at)
        assert await hooks.sender.send_due(hooks.clock.now()) == 1

    schedule = hooks.schedule
    # Full jitter at one half: halfway between the floor and each attempt's ceiling.
    assert waits == [
        timedelta(seconds=schedule.floor_seconds + (schedule.ceiling(n) - 1) * 0.5)
        for n in range(1, schedule.max_attempts)
    ]
    given_up = (await log(hooks))[0]
    assert (given_up.status, given_up.attempt_count, given_up.next_attempt_at) == (
        "failed",
        schedule.max_attempts,
        None,
    )
    assert [a.number for a in given_up.attempts] == list(range(1, schedule.max_attempts + 1))
    assert {(a.status_code, a.error) for a in given_up.attempts} == {(500, "HTTP 500")}
    assert await hooks.sender.send_due(hooks.clock.now() + timedelta(days=30)) == 0


async def test_a_receiver_that_cannot_be_reached_is_logged_and_retried_not_raised() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    await hooks.service.create(ADMIN, URL, ["*"], None)
    hooks.receivers.answer(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"))
    await hooks.fanout.handle(event())  # the bus handler does not fail for the receiver
    [first] = await log(hooks)
    assert (first.status, first.last_status_code) == ("pending", None)
    assert first.last_error == "request failed: ConnectError"

    hooks.clock.set(first.next_attempt_at or NOW)
    await hooks.sender.send_due(hooks.clock.now())
    [second] = await log(hooks)
    assert second.last_error == "timed out after 10 s"


async def test_a_name_rebound_to_a_private_address_gets_nothing_and_is_retried() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    await hooks.service.create(ADMIN, URL, ["*"], None)
    hooks.dns.records["crm.example.com"] = "10.0.0.5"  # DNS rebinding since subscribing
    await hooks.fanout.handle(event())

    assert hooks.receivers.received == []
    [delivery] = await log(hooks)
    assert delivery.status == "pending"
    assert delivery.last_error == (
        "refused: crm.example.com resolves to a private address; "
        "webhooks are sent only to public addresses"
    )


async def test_concurrent_workers_make_each_attempt_once() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    await hooks.service.create(ADMIN, URL, ["*"], None)
    hooks.receivers.answer(503)
    await hooks.fanout.handle(event())
    [pending] = await log(hooks)
    hooks.clock.set(pending.next_attempt_at or NOW)

    made = await asyncio.gather(*(hooks.sender.send_due(hooks.clock.now()) for _ in range(3)))
    assert sum(made) == 1
    assert len(hooks.receivers.received) == 2


async def test_a_claim_lost_to_another_worker_logs_the_attempt_but_moves_nothing() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    await hooks.service.create(ADMIN, URL, ["*"], None)
    hooks.receivers.answer(503)
    await hooks.fanout.handle(event())
    [delivery] = hooks.tables.deliveries.values()
    async with hooks.uow() as uow:
        hooks.clock.set(delivery.next_attempt_at or NOW)
        [claim] = await uow.deliveries.claim_due(hooks.clock.now(), hooks.clock.now(), 10)
        await uow.commit()
    delivery.attempts += 1  # another worker retook it after the lease and recorded first

    await hooks.sender._attempt(claim, final=False)
    [view] = await log(hooks)
    assert view.attempt_count == 2  # as the other worker left it
    assert [a.number for a in view.attempts] == [1, 2]


async def test_during_a_rotation_both_secrets_sign_until_the_grace_ends() -> None:
    hooks = FakeWebhooks(FixedClock(NOW))
    made = await hooks.service.create(ADMIN, URL, ["*"], None)
    new = (await hooks.service.rotate_secret(ADMIN, made.subscription.id)).secret
    await hooks.fanout.handle(event())
    first = hooks.receivers.received[-1]
    assert first.headers["Clinicflow-Signature"].count("v1=") == 2
    for secret in (made.secret, new):
        verify(secret, first.headers["Clinicflow-Signature"], first.body, now=NOW)

    hooks.clock.advance(timedelta(hours=25))
    await hooks.fanout.handle(event(event_id="e2"))
    later = hooks.receivers.received[-1]
    assert later.headers["Clinicflow-Signature"].count("v1=") == 1
    verify(new, later.headers["Clinicflow-Signature"], later.body, now=hooks.clock.now())
