"""Managing webhook subscriptions, on the in-memory unit of work: administrators only (a
signed-in caller's refusal recorded), what a subscription may be (https, public addresses,
known event types), the secret shown once and sealed, rotation's grace period, retries by
hand, and every change audited. Over HTTP with real receivers and both databases it is
tests/integration/test_webhooks.py and test_webhook_targets.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.infra.bus import Envelope
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.webhooks.commands import DeliveryFilter
from clinicflow.webhooks.domain.secrets import seal_context
from clinicflow.webhooks.domain.targets import TargetPolicy
from clinicflow.webhooks.errors import (
    DeliveryNotFound,
    InvalidSubscription,
    NotRetryable,
    SubscriptionNotFound,
)
from support.fake_webhooks import FakeWebhooks

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ADMIN = Actor(kind="user", id="root-id", role=Role.ADMIN)
DESK = Actor(kind="user", id="desk-id", role=Role.FRONT_DESK)
URL = "https://crm.example.com/hooks"


def webhooks() -> FakeWebhooks:
    return FakeWebhooks(FixedClock(NOW))


def problem(exc: pytest.ExceptionInfo[InvalidSubscription]) -> tuple[list[str], str]:
    fields = [e["field"] for e in exc.value.extra["errors"]]
    return fields, exc.value.detail


async def test_a_subscription_shows_its_secret_once_and_keeps_it_sealed() -> None:
    hooks = webhooks()
    made = await hooks.service.create(ADMIN, URL, ["booking.created", "booking.created"], " CRM ")

    assert made.secret.startswith("whsec_")
    assert len(made.secret) == len("whsec_") + 43  # 32 random bytes, base64url
    view = made.subscription
    assert (view.url, view.event_types, view.description, view.active) == (
        URL,
        ["booking.created"],
        "CRM",
        True,
    )
    assert view.created_by == "root-id"
    [row] = hooks.tables.subscriptions.values()
    assert made.secret not in row.secret_enc
    opened = hooks.keys.decrypt(row.secret_enc, context=seal_context("secret_enc"), row=view.id)
    assert opened == made.secret
    [listed] = await hooks.service.list_subscriptions(ADMIN)
    assert made.secret not in repr(listed)
    assert hooks.audited() == [("root-id", "create", view.id)]


@pytest.mark.parametrize(
    ("url", "types", "field", "says"),
    [
        ("http://crm.example.com/hooks", ["*"], "url", "must use https"),
        ("https://u:p@crm.example.com/", ["*"], "url", "credentials"),
        ("https://crm.example.com/#x", ["*"], "url", "fragment"),
        (URL, ["booking.lost"], "event_types", "choose from"),
        (URL, ["*", "booking.created"], "event_types", "list it alone"),
        ("https://intranet.example.com/", ["*"], "url", "resolves to a private address"),
        ("https://nowhere.example.com/", ["*"], "url", "does not resolve"),
    ],
)
async def test_a_bad_subscription_is_refused_naming_the_field_and_nothing_is_kept(
    url: str, types: list[str], field: str, says: str
) -> None:
    hooks = webhooks()
    hooks.dns.records["intranet.example.com"] = "10.0.0.5"
    with pytest.raises(InvalidSubscription) as refused:
        await hooks.service.create(ADMIN, url, types, None)
    fields, detail = problem(refused)
    assert fields == [field]
    assert says in detail
    assert hooks.tables.subscriptions == {}
    assert hooks.ledger.commits == 0


async def test_plain_http_only_where_development_allows_it() -> None:
    hooks = webhooks()
    development = FakeWebhooks(FixedClock(NOW), policy=TargetPolicy(allow_http=True))
    made = await development.service.create(ADMIN, "http://crm.example.com/h", ["*"], None)
    assert made.subscription.url == "http://crm.example.com/h"
    with pytest.raises(InvalidSubscription):
        await hooks.service.create(ADMIN, "http://crm.example.com/h", ["*"], None)


async def test_only_an_administrator_manages_webhooks_and_refusals_are_recorded() -> None:
    hooks = webhooks()
    made = await hooks.service.create(ADMIN, URL, ["*"], None)
    sid = made.subscription.id
    calls = [
        hooks.service.create(DESK, URL, ["*"], None),
        hooks.service.list_subscriptions(DESK),
        hooks.service.update(DESK, sid, {"active": False}),
        hooks.service.delete(DESK, sid),
        hooks.service.rotate_secret(DESK, sid),
        hooks.service.list_deliveries(DESK, DeliveryFilter()),
        hooks.service.retry(DESK, "d1"),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            await call
    with pytest.raises(Unauthenticated):
        await hooks.service.list_subscriptions(ANONYMOUS)
    assert [(action, a.resource_type, a.resource_id) for _, action, a in hooks.trail.denied] == [
        ("create", "webhook_subscription", "*"),
        ("read", "webhook_subscription", "*"),
        ("update", "webhook_subscription", sid),
        ("delete", "webhook_subscription", sid),
        ("rotate_secret", "webhook_subscription", sid),
        ("read", "webhook_delivery", "*"),
        ("retry", "webhook_delivery", "d1"),
    ]
    assert hooks.tables.subscriptions[sid].subscription.active


async def test_a_change_is_checked_like_a_new_subscription_and_audited() -> None:
    hooks = webhooks()
    sid = (await hooks.service.create(ADMIN, URL, ["*"], "CRM")).subscription.id

    paused = await hooks.service.update(ADMIN, sid, {"active": False, "description": None})
    assert (paused.active, paused.description) == (False, None)
    for changes, field in [
        ({"url": None}, "url"),
        ({"url": "http://crm.example.com/"}, "url"),
        ({"event_types": []}, "event_types"),
        ({"secret": "mine"}, "secret"),
        ({"active": "yes"}, "active"),
    ]:
        with pytest.raises(InvalidSubscription) as refused:
            await hooks.service.update(ADMIN, sid, changes)
        assert problem(refused)[0] == [field]

    hooks.dns.records["crm.example.com"] = "192.168.1.20"  # rebound since it was made
    with pytest.raises(InvalidSubscription, match=r"crm\.example\.com resolves to a private"):
        await hooks.service.update(ADMIN, sid, {"url": URL})
    with pytest.raises(SubscriptionNotFound):
        await hooks.service.update(ADMIN, "nope", {"active": True})
    assert hooks.audited() == [("root-id", "create", sid), ("root-id", "update", sid)]


async def test_rotation_signs_with_the_old_secret_too_for_the_grace_period() -> None:
    hooks = webhooks()
    made = await hooks.service.create(ADMIN, URL, ["*"], None)
    sid = made.subscription.id

    rotated = await hooks.service.rotate_secret(ADMIN, sid)
    assert rotated.secret != made.secret
    assert rotated.subscription.previous_secret_expires_at == NOW + timedelta(hours=24)
    row = hooks.tables.subscriptions[sid]
    assert row.previous_secret_enc is not None
    context = seal_context("previous_secret_enc")
    assert hooks.keys.decrypt(row.previous_secret_enc, context=context, row=sid) == made.secret

    hooks.clock.advance(timedelta(hours=25))
    [listed] = await hooks.service.list_subscriptions(ADMIN)
    assert listed.previous_secret_expires_at is None  # the grace is over

    leaked = await hooks.service.rotate_secret(ADMIN, sid, timedelta(0))
    assert leaked.subscription.previous_secret_expires_at is None
    assert hooks.tables.subscriptions[sid].previous_secret_enc is None
    with pytest.raises(SubscriptionNotFound):
        await hooks.service.rotate_secret(ADMIN, "nope")
    assert [a for _, a, _ in hooks.audited()] == ["create", "rotate_secret", "rotate_secret"]


async def test_deleting_takes_the_delivery_log_with_it_and_is_audited() -> None:
    hooks = webhooks()
    sid = (await hooks.service.create(ADMIN, URL, ["*"], None)).subscription.id
    await hooks.fanout.handle(event())
    assert len(await hooks.service.list_deliveries(ADMIN, DeliveryFilter())) == 1

    await hooks.service.delete(ADMIN, sid)
    assert await hooks.service.list_deliveries(ADMIN, DeliveryFilter()) == []
    with pytest.raises(SubscriptionNotFound):
        await hooks.service.delete(ADMIN, sid)
    assert [a for _, a, _ in hooks.audited()] == ["create", "delete"]


async def test_listing_deliveries_checks_the_status_asked_for() -> None:
    hooks = webhooks()
    with pytest.raises(InvalidSubscription, match="pending, delivered, failed") as refused:
        await hooks.service.list_deliveries(ADMIN, DeliveryFilter(status="lost"))
    assert problem(refused)[0] == ["status"]


async def test_only_a_failed_delivery_of_an_active_subscription_is_retried_by_hand() -> None:
    hooks = webhooks()
    sid = (await hooks.service.create(ADMIN, URL, ["*"], None)).subscription.id
    hooks.receivers.answer(then=500)
    await hooks.fanout.handle(event())
    [pending] = await hooks.service.list_deliveries(ADMIN, DeliveryFilter())
    with pytest.raises(NotRetryable, match="pending"):
        await hooks.service.retry(ADMIN, pending.id)
    with pytest.raises(DeliveryNotFound):
        await hooks.service.retry(ADMIN, "nope")

    hooks.tables.deliveries[pending.id].status = "failed"  # given up by the schedule
    await hooks.service.update(ADMIN, sid, {"active": False})
    with pytest.raises(NotRetryable, match="inactive"):
        await hooks.service.retry(ADMIN, pending.id)

    await hooks.service.update(ADMIN, sid, {"active": True})
    hooks.receivers.answer(then=200)
    done = await hooks.service.retry(ADMIN, pending.id)
    assert (done.status, done.attempt_count) == ("delivered", 2)
    assert [(who, a.resource_id) for who, action, a in hooks.trail.read if action == "retry"] == [
        ("root-id", pending.id)
    ]


async def test_a_failed_retry_by_hand_stays_failed_with_no_new_schedule() -> None:
    hooks = webhooks()
    await hooks.service.create(ADMIN, URL, ["*"], None)
    hooks.receivers.answer(then=503)
    await hooks.fanout.handle(event())
    [pending] = await hooks.service.list_deliveries(ADMIN, DeliveryFilter())
    hooks.tables.deliveries[pending.id].status = "failed"

    after = await hooks.service.retry(ADMIN, pending.id)
    assert (after.status, after.next_attempt_at, after.last_error) == ("failed", None, "HTTP 503")


def event() -> Envelope:
    return Envelope("e1", "booking.created", 1, NOW, "booking", "b1", {"booking_id": "b1"})
