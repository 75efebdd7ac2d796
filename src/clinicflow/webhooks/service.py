"""Managing subscriptions and reading the delivery log: administrators only.

A subscription's secret is shown once, when it is created or rotated, and stored sealed with
the key ring (it must be usable for HMAC, so it cannot be a digest). Rotation keeps signing
with the old secret as well for a grace period, so a receiver can switch without a gap.
Every change is an audit row; so is every refusal of a signed-in caller.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.webhooks import queries
from clinicflow.webhooks.domain.rules import RuleViolation, check_event_types, check_url
from clinicflow.webhooks.errors import (
    DeliveryNotFound,
    InvalidSubscription,
    NotRetryable,
    SubscriptionNotFound,
)
from clinicflow.webhooks.queries import DeliveryFilter, DeliveryView, SubscriptionView
from clinicflow.webhooks.sender import WebhookSender
from clinicflow.webhooks.tables import DELIVERY_STATUSES, seal_context, subscriptions
from clinicflow.webhooks.targets import TargetRefused

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix that marks secrets, not a secret)
SUBSCRIPTION = "webhook_subscription"
DELIVERY = "webhook_delivery"
CHANGEABLE = frozenset({"url", "event_types", "active", "description"})


@dataclass(frozen=True, slots=True)
class WithSecret:
    subscription: SubscriptionView
    secret: str  # shown this once; never readable again


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)  # 32 random bytes, base64url


class WebhookService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        keys: KeyRing,
        trail: AuditTrail,
        sender: WebhookSender,
        known_types: Collection[str],
        *,
        previous_secret_ttl: timedelta = timedelta(hours=24),
    ) -> None:
        self._db = db
        self._clock = clock
        self._keys = keys
        self._trail = trail
        self._sender = sender
        self.known_types = frozenset(known_types)
        self._previous_ttl = previous_secret_ttl

    async def create(
        self, actor: Actor, url: str, event_types: Sequence[str], description: str | None
    ) -> WithSecret:
        await self._require_admin(actor, "create", SUBSCRIPTION)
        values = self._checked({"url": url, "event_types": event_types, "description": description})
        await self._reachable(values)
        now, secret, subscription_id = self._clock.now(), new_secret(), str(uuid.uuid4())
        async with self._db.write() as conn:
            await conn.execute(
                subscriptions.insert().values(
                    id=subscription_id,
                    secret_enc=self._seal(secret, "secret_enc", subscription_id),
                    active=True,
                    created_at=now,
                    updated_at=now,
                    created_by=actor.id[:64],
                    **values,
                )
            )
            await self._audit(conn, actor, "create", subscription_id)
            row = await queries.subscription_row(conn, subscription_id)
        return WithSecret(queries.subscription_view(row, now), secret)

    async def list_subscriptions(self, actor: Actor) -> list[SubscriptionView]:
        await self._require_admin(actor, "read", SUBSCRIPTION)
        now = self._clock.now()
        async with self._db.read() as conn:
            return [
                queries.subscription_view(r, now) for r in await queries.subscription_rows(conn)
            ]

    async def update(
        self, actor: Actor, subscription_id: str, changes: Mapping[str, Any]
    ) -> SubscriptionView:
        await self._require_admin(actor, "update", SUBSCRIPTION, subscription_id)
        unknown = sorted(set(changes) - CHANGEABLE)
        if unknown:
            raise InvalidSubscription.of(
                RuleViolation(
                    unknown[0], f"cannot be changed; change {', '.join(sorted(CHANGEABLE))}"
                )
            )
        values = self._checked(changes)
        await self._reachable(values)
        return await self._change(actor, "update", subscription_id, values)

    async def delete(self, actor: Actor, subscription_id: str) -> None:
        """Its deliveries and their attempts go with it."""
        await self._require_admin(actor, "delete", SUBSCRIPTION, subscription_id)
        async with self._db.write() as conn:
            gone = await conn.execute(
                delete(subscriptions).where(subscriptions.c.id == subscription_id)
            )
            if gone.rowcount != 1:
                raise _no_subscription(subscription_id)
            await self._audit(conn, actor, "delete", subscription_id)

    async def rotate_secret(
        self, actor: Actor, subscription_id: str, previous_valid_for: timedelta | None = None
    ) -> WithSecret:
        """A new secret; the old one keeps signing too for `previous_valid_for` (default a day;
        zero drops it at once, e.g. when it leaked)."""
        await self._require_admin(actor, "rotate_secret", SUBSCRIPTION, subscription_id)
        grace = self._previous_ttl if previous_valid_for is None else previous_valid_for
        now, secret = self._clock.now(), new_secret()
        async with self._db.write() as conn:
            row = await queries.subscription_row(conn, subscription_id)
            if row is None:
                raise _no_subscription(subscription_id)
            old = self._keys.decrypt(
                row.secret_enc, context=seal_context("secret_enc"), row=subscription_id
            )
            keep = grace > timedelta(0)
            values = {
                "secret_enc": self._seal(secret, "secret_enc", subscription_id),
                "previous_secret_enc": (
                    self._seal(old, "previous_secret_enc", subscription_id) if keep else None
                ),
                "previous_secret_expires_at": now + grace if keep else None,
            }
            view = await self._apply(conn, actor, "rotate_secret", subscription_id, values)
        return WithSecret(view, secret)

    async def list_deliveries(self, actor: Actor, where: DeliveryFilter) -> list[DeliveryView]:
        await self._require_admin(actor, "read", DELIVERY)
        if where.status is not None and where.status not in DELIVERY_STATUSES:
            raise InvalidSubscription.of(
                RuleViolation("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
            )
        async with self._db.read() as conn:
            return await queries.delivery_views(conn, where)

    async def retry(self, actor: Actor, delivery_id: str) -> DeliveryView:
        """Send a given-up delivery once more, now, and answer with its updated log."""
        await self._require_admin(actor, "retry", DELIVERY, delivery_id)
        current = await self._delivery(delivery_id)
        async with self._db.read() as conn:
            subscription = await queries.subscription_row(conn, current.subscription_id)
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
        async with self._db.read() as conn:
            found = await queries.delivery_views(conn, DeliveryFilter(delivery_id=delivery_id))
        if not found:
            raise DeliveryNotFound(f"no webhook delivery with id {delivery_id}")
        return found[0]

    async def _change(
        self, actor: Actor, action: str, subscription_id: str, values: dict[str, Any]
    ) -> SubscriptionView:
        async with self._db.write() as conn:
            return await self._apply(conn, actor, action, subscription_id, values)

    async def _apply(
        self,
        conn: AsyncConnection,
        actor: Actor,
        action: str,
        subscription_id: str,
        values: dict[str, Any],
    ) -> SubscriptionView:
        now = self._clock.now()
        changed = await conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(updated_at=now, **values)
        )
        if changed.rowcount != 1:
            raise _no_subscription(subscription_id)
        await self._audit(conn, actor, action, subscription_id)
        return queries.subscription_view(await queries.subscription_row(conn, subscription_id), now)

    def _checked(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        try:
            for name, value in fields.items():
                if value is None and name != "description":
                    raise RuleViolation(name, "must not be null; leave it out to keep it")
                if name == "url":
                    checked[name] = check_url(value, allow_http=self._sender.targets.allow_http)
                elif name == "event_types":
                    checked[name] = check_event_types(value, self.known_types)
                elif name == "description":
                    checked[name] = (value or "").strip()[:200] or None
                else:
                    checked[name] = value
        except RuleViolation as exc:
            raise InvalidSubscription.of(exc) from None
        return checked

    async def _reachable(self, checked: Mapping[str, Any]) -> None:
        """A new URL must lead to a public address (checked again before every delivery)."""
        if "url" not in checked:
            return
        try:
            await self._sender.targets.resolve(checked["url"])
        except TargetRefused as exc:
            raise InvalidSubscription.of(RuleViolation("url", str(exc))) from None

    def _seal(self, secret: str, column: str, subscription_id: str) -> str:
        return self._keys.encrypt(secret, context=seal_context(column), row=subscription_id)

    async def _require_admin(
        self, actor: Actor, action: str, resource: str, resource_id: str = "*"
    ) -> None:
        allowed = actor.kind == "user" and actor.role is Role.ADMIN
        await self._trail.require_role(
            actor,
            allowed,
            action,
            Access(resource, resource_id),
            "only an administrator may manage webhooks",
        )

    async def _audit(
        self, conn: AsyncConnection, actor: Actor, action: str, subscription_id: str
    ) -> None:
        await self._trail.record(conn, actor, action, [Access(SUBSCRIPTION, subscription_id)])


def _no_subscription(subscription_id: str) -> SubscriptionNotFound:
    return SubscriptionNotFound(f"no webhook subscription with id {subscription_id}")
