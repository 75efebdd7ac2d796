"""Outbound webhooks through the real app: an admin subscribes a receiver on loopback (which
these tests allow explicitly, as development does: plain http to 127.0.0.1), a
booking made over the API reaches it signed, failures are retried on the webhooks' own
schedule (the clock is advanced, never slept), and every attempt shows in the log.

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from datetime import datetime, timedelta
from ipaddress import ip_network

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.bootstrap.webhooks import build_webhooks
from clinicflow.identity import TOTP_CONTEXT
from clinicflow.identity.tables import users
from clinicflow.identity.users.domain.totp import code_at
from clinicflow.infra.audit import audit_log
from clinicflow.infra.rekey import reseal_all
from clinicflow.sealed import SEALED
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from clinicflow.webhooks.domain.signing import SignatureError, verify
from clinicflow.webhooks.tables import deliveries as deliveries_table
from clinicflow.webhooks.tables import subscriptions
from support.api import assert_problem
from support.app import PASSWORD
from support.fake_receiver import Received
from support.notifications import envelope
from support.webhooks import Json, WebhookScene

# The outbox, relay and inbox: delivery once rests on each database's transactions.
pytestmark = pytest.mark.both_databases

# The receivers here listen on 127.0.0.1 with plain http: only a development setting allows
# that (test_webhook_targets.py shows it refused by default).
RECEIVERS_ON_THIS_MACHINE = {
    "webhook_allow_http": True,
    "webhook_allowed_networks": [ip_network("127.0.0.1/32")],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=RECEIVERS_ON_THIS_MACHINE)


async def sign_in(container: Container) -> dict[str, str]:
    """The admin's headers; again after the clock has moved past the session's idle timeout."""
    async with container.db.read() as conn:
        user_id, sealed = (await conn.execute(select(users.c.id, users.c.totp_secret_enc))).one()
    secret = container.keys.decrypt(sealed, context=TOTP_CONTEXT, row=user_id)
    code = code_at(secret, container.clock.now())
    opened, _ = await container.identity.users.login("root", PASSWORD, code)
    return {"Authorization": f"Bearer {opened.token}"}


def assert_signed(secret: str, got: Received) -> None:
    """The published verifier accepts it, and so does an HMAC computed here from the docs."""
    header = got.header("Clinicflow-Signature")
    assert verify(secret, header, got.body, now=got.at) > 0
    fields = [item.split("=", 1) for item in header.split(",")]
    timestamp = next(v for k, v in fields if k == "t")
    assert abs(int(timestamp) - got.at.timestamp()) <= 1
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + got.body, hashlib.sha256)
    assert expected.hexdigest() in [v for k, v in fields if k == "v1"]


def wait_out(clock: FixedClock, delivery: Json) -> None:
    clock.set(datetime.fromisoformat(delivery["next_attempt_at"]))


async def next_due(container: Container) -> datetime | None:
    async with container.db.read() as conn:
        query = select(deliveries_table.c.next_attempt_at).where(
            deliveries_table.c.status == "pending"
        )
        return (await conn.execute(query)).scalar_one_or_none()


async def test_a_receiver_failing_twice_gets_the_event_a_third_time_and_the_log_shows_all_three(
    hooks: WebhookScene,
) -> None:
    hooks.receiver.answer(500, 500, 200)
    made = await hooks.subscribe(["booking.created"])
    visit = await hooks.book()

    await hooks.container.bus.run_once()  # the first attempt, right as the event arrives
    assert len(hooks.receiver.received) == 1
    for _ in range(2):
        [pending] = await hooks.deliveries()
        assert pending["status"] == "pending"
        assert await hooks.send_due() == 0  # not due yet
        wait_out(hooks.clock, pending)
        assert await hooks.send_due() == 1

    event = await envelope(hooks.container, "booking.created", visit["id"])
    assert len(hooks.receiver.received) == 3
    assert {r.header("Clinicflow-Event-Id") for r in hooks.receiver.received} == {event.event_id}
    assert len({r.body for r in hooks.receiver.received}) == 1
    for got in hooks.receiver.received:
        assert_signed(made["secret"], got)
        assert got.header("Content-Type") == "application/json"
        assert got.header("Clinicflow-Event-Type") == "booking.created"
        assert got.header("User-Agent") == "clinicflow-webhooks"
    sent = json.loads(hooks.receiver.received[0].body)
    assert sent["id"] == event.event_id
    assert sent["aggregate"] == {"type": "booking", "id": visit["id"]}
    assert sent["data"]["booking_id"] == visit["id"]
    assert (sent["type"], sent["version"]) == ("booking.created", 1)

    [done] = await hooks.deliveries(event_id=event.event_id)
    assert (done["status"], done["attempt_count"], done["next_attempt_at"]) == (
        "delivered",
        3,
        None,
    )
    assert done["subscription_id"] == made["id"]
    assert [(a["number"], a["status_code"], a["error"]) for a in done["attempts"]] == [
        (1, 500, "HTTP 500"),
        (2, 500, "HTTP 500"),
        (3, 200, None),
    ]
    assert {r.header("Clinicflow-Delivery-Id") for r in hooks.receiver.received} == {done["id"]}
    assert await hooks.send_due(later=timedelta(days=1)) == 0


async def test_an_event_type_not_subscribed_to_makes_no_delivery(hooks: WebhookScene) -> None:
    cancelled_only = await hooks.subscribe(["booking.cancelled"])
    everything = await hooks.subscribe(["*"])
    await hooks.book()
    await hooks.container.bus.run_once()

    assert await hooks.deliveries(subscription_id=cancelled_only["id"]) == []
    [one] = await hooks.deliveries(subscription_id=everything["id"])
    assert (one["event_type"], one["status"]) == ("booking.created", "delivered")
    assert len(hooks.receiver.received) == 1


async def test_a_redelivered_event_makes_no_second_delivery(hooks: WebhookScene) -> None:
    await hooks.subscribe(["booking.created"])
    visit = await hooks.book()
    await hooks.container.bus.run_once()
    event = await envelope(hooks.container, "booking.created", visit["id"])

    await hooks.container.webhooks.fanout.handle(event)
    await hooks.container.webhooks.fanout.handle(event)

    [only] = await hooks.deliveries()
    assert (only["status"], only["attempt_count"]) == ("delivered", 1)
    assert len(hooks.receiver.received) == 1


async def test_two_workers_sending_due_deliveries_at_once_make_each_attempt_once(
    hooks: WebhookScene,
) -> None:
    hooks.receiver.answer(503)
    await hooks.subscribe(["booking.created"])
    await hooks.book()
    await hooks.container.bus.run_once()
    [pending] = await hooks.deliveries()
    wait_out(hooks.clock, pending)

    sender = hooks.container.webhooks.sender
    made = await asyncio.gather(*(sender.send_due(hooks.clock.now()) for _ in range(3)))

    assert sum(made) == 1
    assert len(hooks.receiver.received) == 2
    [after] = await hooks.deliveries()
    assert [a["status_code"] for a in after["attempts"]] == [503, 200]


async def test_a_receiver_that_cannot_be_reached_is_logged_and_retried_later(
    hooks: WebhookScene,
) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    await hooks.subscribe(["booking.created"], closed)
    await hooks.book()

    await hooks.container.bus.run_once()  # the bus handler does not fail for the receiver's sake

    [pending] = await hooks.deliveries()
    assert (pending["status"], pending["last_status_code"]) == ("pending", None)
    assert pending["last_error"] == "request failed: ConnectError"
    assert pending["next_attempt_at"] is not None
    assert await hooks.container.bus.dead_letters() == []


async def test_after_the_last_attempt_the_delivery_fails_and_an_admin_retry_sends_it_again(
    hooks: WebhookScene,
) -> None:
    hooks.receiver.answer(then=500)
    made = await hooks.subscribe(["booking.created"])
    await hooks.book()
    await hooks.container.bus.run_once()
    while (due := await next_due(hooks.container)) is not None:
        hooks.clock.set(due)  # hours pass: the admin signs in again below
        await hooks.send_due()

    hooks.admin = await sign_in(hooks.container)
    [current] = await hooks.deliveries()
    assert (current["status"], current["attempt_count"]) == ("failed", 8)
    assert current["next_attempt_at"] is None
    assert await hooks.send_due(later=timedelta(days=30)) == 0
    assert len(hooks.receiver.received) == 8

    hooks.receiver.answer(then=200)
    resp = await hooks.client.post(
        f"/v1/webhooks/deliveries/{current['id']}/retry", headers=hooks.admin
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["status"], resp.json()["attempt_count"]) == ("delivered", 9)
    assert len(hooks.receiver.received) == 9
    assert_signed(made["secret"], hooks.receiver.received[-1])
    again = await hooks.client.post(
        f"/v1/webhooks/deliveries/{current['id']}/retry", headers=hooks.admin
    )
    assert_problem(again, 409, "webhook_delivery_not_retryable")


async def test_only_an_administrator_manages_webhooks(
    client: httpx.AsyncClient, front_desk: dict[str, str], container: Container
) -> None:
    body = {"url": "https://crm.example.com/hooks", "event_types": ["*"]}
    paths = [("POST", "/v1/webhooks/subscriptions"), ("GET", "/v1/webhooks/deliveries")]
    for method, path in paths:
        refused = await client.request(method, path, json=body, headers=front_desk)
        assert_problem(refused, 403, "forbidden")
        assert_problem(
            await client.request(method, path, json=body), 401, "authentication_required"
        )
    async with container.db.read() as conn:
        denied = (
            await conn.execute(select(audit_log).where(audit_log.c.outcome == "denied"))
        ).all()
    assert {(d.action, d.resource_type) for d in denied} == {
        ("create", "webhook_subscription"),
        ("read", "webhook_delivery"),
    }


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"url": "https://10.0.0.5/hooks", "event_types": ["*"]}, "url", "public addresses"),
        ({"url": "https://u:p@crm.example.com/", "event_types": ["*"]}, "url", "credentials"),
        (
            {"url": "https://crm.example.com/", "event_types": ["booking.lost"]},
            "event_types",
            "choose from",
        ),
    ],
)
async def test_a_bad_subscription_is_refused_naming_the_field_to_change(
    client: httpx.AsyncClient, admin: dict[str, str], body: Json, field: str, says: str
) -> None:
    problem = assert_problem(
        await client.post("/v1/webhooks/subscriptions", json=body, headers=admin),
        422,
        "validation_error",
    )
    assert [e["field"] for e in problem["errors"]] == [field]
    assert says in problem["detail"]
    listed = await client.get("/v1/webhooks/subscriptions", headers=admin)
    assert listed.json()["subscriptions"] == []


async def test_the_secret_is_shown_once_stored_sealed_and_rotation_signs_with_both_for_a_while(
    hooks: WebhookScene,
) -> None:
    made = await hooks.subscribe(["booking.created"])
    old = made["secret"]
    assert old.startswith("whsec_")
    assert len(old) == len("whsec_") + 43  # 32 random bytes, base64url
    listed = (await hooks.client.get("/v1/webhooks/subscriptions", headers=hooks.admin)).json()
    assert [s["id"] for s in listed["subscriptions"]] == [made["id"]]
    assert old not in json.dumps(listed)
    assert "secret" not in listed["subscriptions"][0]
    async with hooks.container.db.read() as conn:
        stored = (await conn.execute(select(subscriptions.c.secret_enc))).scalar_one()
    assert old not in stored

    path = f"/v1/webhooks/subscriptions/{made['id']}/rotate-secret"
    rotated = (await hooks.client.post(path, headers=hooks.admin)).json()
    new = rotated["secret"]
    grace_until = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert grace_until == hooks.clock.now() + timedelta(hours=24)
    assert new.startswith("whsec_")
    assert new != old
    await hooks.book()
    await hooks.container.bus.run_once()
    [got] = hooks.receiver.received
    assert got.header("Clinicflow-Signature").count("v1=") == 2
    assert_signed(new, got)
    assert_signed(old, got)

    hooks.clock.advance(timedelta(hours=25))  # the old secret's day of grace is over
    listed = await hooks.client.get(
        "/v1/webhooks/subscriptions", headers=await sign_in(hooks.container)
    )
    assert listed.json()["subscriptions"][0]["previous_secret_expires_at"] is None
    await hooks.book(start="2026-11-27T10:00:00-06:00")
    await hooks.container.bus.run_once()
    latest = hooks.receiver.received[-1]
    assert_signed(new, latest)
    with pytest.raises(SignatureError):
        verify(old, latest.header("Clinicflow-Signature"), latest.body, now=latest.at)


async def test_a_paused_subscription_gets_nothing_and_a_deleted_one_takes_its_log_with_it(
    hooks: WebhookScene,
) -> None:
    made = await hooks.subscribe(["booking.created"])
    path = f"/v1/webhooks/subscriptions/{made['id']}"
    paused = await hooks.client.patch(
        path, json={"active": False, "description": None}, headers=hooks.admin
    )
    assert (paused.json()["active"], paused.json()["description"]) == (False, None)
    await hooks.book()
    await hooks.container.bus.run_once()
    assert hooks.receiver.received == []
    assert await hooks.deliveries() == []

    bad = await hooks.client.patch(
        path, json={"url": "http://crm.example.com/"}, headers=hooks.admin
    )
    assert assert_problem(bad, 422, "validation_error")["errors"][0]["field"] == "url"
    await hooks.client.patch(path, json={"active": True}, headers=hooks.admin)
    await hooks.book(start="2026-11-25T11:00:00-06:00", n=2)
    await hooks.container.bus.run_once()
    assert len(await hooks.deliveries()) == 1

    assert (await hooks.client.delete(path, headers=hooks.admin)).status_code == 204
    assert await hooks.deliveries() == []
    gone = await hooks.client.patch(path, json={"active": True}, headers=hooks.admin)
    assert_problem(gone, 404, "webhook_subscription_not_found")


async def test_subscription_secrets_survive_a_key_rotation(hooks: WebhookScene) -> None:
    made = await hooks.subscribe(["booking.created"])
    path = f"/v1/webhooks/subscriptions/{made['id']}/rotate-secret"
    new = (await hooks.client.post(path, headers=hooks.admin)).json()["secret"]
    ring = hooks.container.keys.with_new_active_key()

    await reseal_all(hooks.container.db, SEALED, ring)
    retired = ring.retire(hooks.container.keys.active)  # the old key is gone for good
    sender = hooks.container.webhooks.sender
    webhooks = build_webhooks(
        db=hooks.container.db,
        clock=hooks.clock,
        keys=retired,
        http=hooks.container.http,
        targets=sender.policy,
        resolver=sender.resolver,
    )
    visit = await hooks.book()
    await webhooks.fanout.handle(await envelope(hooks.container, "booking.created", visit["id"]))

    [got] = hooks.receiver.received
    assert_signed(new, got)
    assert_signed(made["secret"], got)
