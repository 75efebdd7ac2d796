"""The Microsoft Graph adapter against a fake Graph on loopback (support/fake_graph.py; fixtures in
this folder's conftest.py): subscriptions and notifications: the validation handshake,
clientState, renewal, duplicates pruned, a notification's delta sync and the route's handshake
answer.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx

from clinicflow.adapters.calendars._graph_subscriptions import MAX_MINUTES
from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from clinicflow.calendars.subscriptions.service import ChangeNotifications
from clinicflow.shared.clock import FixedClock
from support.fake_graph import FakeGraph
from support.graph_contract import ELENA, GRACE, add, at
from support.graph_servers import MAILBOXES, Sleeps, Triggered, calendar_on, notification_route
from support.loopback_tls import loopback_tls


async def test_subscriptions_are_made_after_the_handshake_and_renewed_before_they_expire(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    notifications = ChangeNotifications(keys=None)
    async with notification_route(notifications, clock) as url:
        calendar = calendar_on(fake, http, clock, sleeps, notification_url=url)
        notifications._keys = calendar  # the route checks clientStates with the adapter
        assert await calendar.keep_subscriptions(clock.now()) == 3

    assert fake.handshakes == [200] * 3  # notificationUrl = lifecycleNotificationUrl: one each
    subscriptions = list(fake.subscriptions.values())
    assert sorted(s["resource"] for s in subscriptions) == sorted(
        f"/users/{m}/events" for m in MAILBOXES.values()
    )
    for s in subscriptions:
        assert s["changeType"] == "created,updated,deleted"
        expires = datetime.fromisoformat(s["expirationDateTime"].replace("Z", "+00:00"))
        assert expires - clock.now() <= timedelta(minutes=MAX_MINUTES)
        assert calendar.practitioner_of(s["clientState"]) in MAILBOXES

    assert await calendar.keep_subscriptions(clock.now()) == 0  # nothing due
    clock.advance(timedelta(hours=60))
    fake.now = clock.now()
    assert await calendar.keep_subscriptions(clock.now()) == 3  # renewed (PATCH)
    assert fake.calls("PATCH", "/subscriptions/") == 3
    assert len(fake.subscriptions) == 3


async def test_a_subscription_is_not_made_when_the_handshake_fails(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    async with notification_route(ChangeNotifications(keys=None), clock) as url:
        calendar = calendar_on(fake, http, clock, sleeps, notification_url=url)
        assert await calendar.keep_subscriptions(clock.now()) == 0  # each one refused, logged
    assert fake.handshakes == [404] * 3  # notifications are off on that route
    assert fake.subscriptions == {}


async def test_duplicate_subscriptions_made_by_two_workers_are_pruned(
    calendar: MicrosoftCalendar, fake: FakeGraph, clock: FixedClock
) -> None:
    for n in range(2):
        fake.subscriptions.update(
            {
                f"dup-{n}-{k}": {
                    "id": f"dup-{n}-{k}",
                    "resource": f"/users/{m}/events",
                    "notificationUrl": "https://clinic.example/v1/webhooks/microsoft",
                    "expirationDateTime": (clock.now() + timedelta(hours=50)).isoformat(),
                    "clientState": "x",
                }
                for k, m in MAILBOXES.items()
            }
        )
    assert await calendar.keep_subscriptions(clock.now()) == 3
    assert len(fake.subscriptions) == 3


async def test_a_notification_triggers_a_delta_sync_of_that_practitioner(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    triggered = Triggered()
    notifications = ChangeNotifications(keys=None, on_change=triggered)
    async with notification_route(notifications, clock) as url:
        calendar = calendar_on(fake, http, clock, sleeps, notification_url=url)
        notifications._keys = calendar
        await calendar.keep_subscriptions(clock.now())
        event = add(fake, GRACE, at(25, 9))

        status = await asyncio.to_thread(fake.notify, GRACE, "created", event)
        forged = await asyncio.to_thread(
            fake.notify, ELENA, "created", event, client_state="doctor1.forged"
        )
        other = calendar.client_states.of("nurse") if calendar.client_states else ""
        borrowed = await asyncio.to_thread(fake.notify, ELENA, "created", event, client_state=other)
        await notifications.drain()

    assert status == 202
    assert forged == 403
    assert borrowed == 202  # a valid clientState is nurse's, whatever the resource says
    assert triggered.calls == [("microsoft", "nurse"), ("microsoft", "nurse")]


async def test_the_route_answers_the_handshake_in_plain_text(clock: FixedClock) -> None:
    class Keys:
        def practitioner_of(self, client_state: str) -> str | None:
            return None

    token = "Validation: Testing client application reachability for subscription 1"
    async with (
        notification_route(ChangeNotifications(keys=Keys()), clock) as url,
        httpx.AsyncClient(trust_env=False, verify=loopback_tls()) as client,
    ):
        answer = await client.post(
            url, params={"validationToken": token}, headers={"Content-Type": "text/plain"}
        )
        junk = await client.post(url, json={"nope": 1})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == token
    assert junk.status_code == 422
