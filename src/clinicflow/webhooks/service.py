"""Managing subscriptions and reading the delivery log: administrators only (guard.py).

A subscription's secret is shown once, when it is created or rotated, and stored sealed with
the key ring (domain/secrets.py). Rotation keeps signing with the old secret as well for a
grace period, so a receiver can switch without a gap. Every change is an audit entry; so is
every refusal of a signed-in caller.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from clinicflow.infra.audit_trail import Access
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.webhooks.commands import DeliveryFilter, NewSubscription
from clinicflow.webhooks.domain.deliveries import DELIVERY_STATUSES
from clinicflow.webhooks.domain.rules import RuleViolation, check_event_types, check_url
from clinicflow.webhooks.domain.secrets import SECRET_PREFIX, seal_context
from clinicflow.webhooks.domain.subscriptions import CHANGEABLE
from clinicflow.webhooks.domain.targets import TargetRefused
from clinicflow.webhooks.errors import (
    DeliveryNotFound,
    InvalidSubscription,
    NotRetryable,
    SubscriptionNotFound,
)
from clinicflow.webhooks.guard import DELIVERY, SUBSCRIPTION, changed, require_admin
from clinicflow.webhooks.jobs import WebhookSender
from clinicflow.webhooks.ports import Trail, WebhooksUnitOfWork
from clinicflow.webhooks.views import DeliveryView, SubscriptionView


@dataclass(frozen=True, slots=True)
class WithSecret:
    subscription: SubscriptionView
    secret: str  # shown this once; never readable again


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)  # 32 random bytes, base64url


class WebhookService:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[WebhooksUnitOfWork],
        clock: Clock,
        keys: KeyRing,
        trail: Trail,
        sender: WebhookSender,
        known_types: Collection[str],
        previous_secret_ttl: timedelta = timedelta(hours=24),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._keys = keys
        self._trail = trail
        self._sender = sender
        self.known_types = frozenset(known_types)
        self._previous_ttl = previous_secret_ttl

    async def create(
        self, actor: Actor, url: str, event_types: Sequence[str], description: str | None
    ) -> WithSecret:
        await require_admin(self._trail, actor, "create", SUBSCRIPTION)
        values = self._checked({"url": url, "event_types": event_types, "description": description})
        await self._reachable(values)
        now, secret, subscription_id = self._clock.now(), new_secret(), str(uuid.uuid4())
        sealed = self._seal(secret, "secret_enc", subscription_id)
        async with self._uow() as uow:
            await uow.subscriptions.add(
                NewSubscription(subscription_id, values, sealed, actor.id[:64]), now
            )
            uow.audit(changed(actor, "create", subscription_id), now)
            made = await uow.subscriptions.get(subscription_id)
            await uow.commit()
        assert made is not None
        return WithSecret(SubscriptionView.of(made, now), secret)

    async def list_subscriptions(self, actor: Actor) -> list[SubscriptionView]:
        await require_admin(self._trail, actor, "read", SUBSCRIPTION)
        now = self._clock.now()
        async with self._uow.reading() as uow:
            return [SubscriptionView.of(s, now) for s in await uow.subscriptions.listed()]

    async def update(
        self, actor: Actor, subscription_id: str, changes: Mapping[str, object]
    ) -> SubscriptionView:
        await require_admin(self._trail, actor, "update", SUBSCRIPTION, subscription_id)
        unknown = sorted(set(changes) - CHANGEABLE)
        if unknown:
            raise InvalidSubscription.of(
                RuleViolation(
                    unknown[0], f"cannot be changed; change {', '.join(sorted(CHANGEABLE))}"
                )
            )
        values = self._checked(changes)
        await self._reachable(values)
        async with self._uow() as uow:
            view = await self._apply(uow, actor, "update", subscription_id, values)
            await uow.commit()
        return view

    async def delete(self, actor: Actor, subscription_id: str) -> None:
        """Its deliveries and their attempts go with it."""
        await require_admin(self._trail, actor, "delete", SUBSCRIPTION, subscription_id)
        async with self._uow() as uow:
            if not await uow.subscriptions.delete(subscription_id):
                raise _no_subscription(subscription_id)
            uow.audit(changed(actor, "delete", subscription_id), self._clock.now())
            await uow.commit()

    async def rotate_secret(
        self, actor: Actor, subscription_id: str, previous_valid_for: timedelta | None = None
    ) -> WithSecret:
        """A new secret; the old one keeps signing too for `previous_valid_for` (default a day;
        zero drops it at once, e.g. when it leaked)."""
        await require_admin(self._trail, actor, "rotate_secret", SUBSCRIPTION, subscription_id)
        grace = self._previous_ttl if previous_valid_for is None else previous_valid_for
        now, secret = self._clock.now(), new_secret()
        async with self._uow() as uow:
            sealed = await uow.subscriptions.sealed_secret(subscription_id)
            if sealed is None:
                raise _no_subscription(subscription_id)
            old = self._keys.decrypt(
                sealed, context=seal_context("secret_enc"), row=subscription_id
            )
            keep = grace > timedelta(0)
            values: dict[str, object] = {
                "secret_enc": self._seal(secret, "secret_enc", subscription_id),
                "previous_secret_enc": (
                    self._seal(old, "previous_secret_enc", subscription_id) if keep else None
                ),
                "previous_secret_expires_at": now + grace if keep else None,
            }
            view = await self._apply(uow, actor, "rotate_secret", subscription_id, values)
            await uow.commit()
        return WithSecret(view, secret)

    async def list_deliveries(self, actor: Actor, where: DeliveryFilter) -> list[DeliveryView]:
        await require_admin(self._trail, actor, "read", DELIVERY)
        if where.status is not None and where.status not in DELIVERY_STATUSES:
            raise InvalidSubscription.of(
                RuleViolation("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
            )
        async with self._uow.reading() as uow:
            return await uow.log.deliveries(where)

    async def retry(self, actor: Actor, delivery_id: str) -> DeliveryView:
        """Send a given-up delivery once more, now, and answer with its updated log."""
        await require_admin(self._trail, actor, "retry", DELIVERY, delivery_id)
        current = await self._delivery(delivery_id)
        async with self._uow.reading() as uow:
            subscription = await uow.subscriptions.get(current.subscription_id)
        if current.status != "failed":
            raise NotRetryable(
                f"the delivery is {current.status}; only a failed one is retried by hand "
                "(a pending one is retried at its next_attempt_at)"
            )
        if subscription is None or not subscription.active:
            raise NotRetryable("its subscription is inactive; set active to true first")
        await self._trail.record_alone(actor, "retry", [Access(DELIVERY, delivery_id)])
        if await self._sender.resend_failed(delivery_id) is None:
            raise NotRetryable("the delivery is being retried already")
        return await self._delivery(delivery_id)

    async def _delivery(self, delivery_id: str) -> DeliveryView:
        async with self._uow.reading() as uow:
            found = await uow.log.deliveries(DeliveryFilter(delivery_id=delivery_id))
        if not found:
            raise DeliveryNotFound(f"no webhook delivery with id {delivery_id}")
        return found[0]

    async def _apply(
        self,
        uow: WebhooksUnitOfWork,
        actor: Actor,
        action: str,
        subscription_id: str,
        values: Mapping[str, object],
    ) -> SubscriptionView:
        now = self._clock.now()
        if not await uow.subscriptions.change(subscription_id, values, now):
            raise _no_subscription(subscription_id)
        uow.audit(changed(actor, action, subscription_id), now)
        found = await uow.subscriptions.get(subscription_id)
        assert found is not None
        return SubscriptionView.of(found, now)

    def _checked(self, fields: Mapping[str, object]) -> dict[str, object]:
        checked: dict[str, object] = {}
        try:
            for name, value in fields.items():
                if value is None and name != "description":
                    raise RuleViolation(name, "must not be null; leave it out to keep it")
                checked[name] = self._field(name, value)
        except RuleViolation as exc:
            raise InvalidSubscription.of(exc) from None
        return checked

    def _field(self, name: str, value: object) -> object:
        if name == "url":
            if not isinstance(value, str):
                raise RuleViolation(name, "give the URL as a string")
            return check_url(value, allow_http=self._sender.policy.allow_http)
        if name == "event_types":
            if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
                raise RuleViolation(name, "give a list of event type names")
            return check_event_types([str(t) for t in value], self.known_types)
        if name == "description":
            return (str(value) if value is not None else "").strip()[:200] or None
        if name == "active" and not isinstance(value, bool):
            raise RuleViolation(name, "must be true or false")
        return value

    async def _reachable(self, checked: Mapping[str, object]) -> None:
        """A new URL must lead to a public address (checked again before every delivery)."""
        url = checked.get("url")
        if not isinstance(url, str):
            return
        try:
            await self._sender.target(url)
        except TargetRefused as exc:
            raise InvalidSubscription.of(RuleViolation("url", str(exc))) from None

    def _seal(self, secret: str, column: str, subscription_id: str) -> str:
        return self._keys.encrypt(secret, context=seal_context(column), row=subscription_id)


def _no_subscription(subscription_id: str) -> SubscriptionNotFound:
    return SubscriptionNotFound(f"no webhook subscription with id {subscription_id}")
