"""What webhooks need from outside (a name resolver, the audit trail) and its own unit of
work, with its repositories, as the use cases see them (SQL in `repository.py` and
`queries.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from clinicflow.infra.audit_trail import Access
from clinicflow.infra.unit_of_work import Transaction
from clinicflow.shared.actor import Actor
from clinicflow.webhooks.commands import DeliveryFilter, NewSubscription, Outgoing
from clinicflow.webhooks.domain.deliveries import Claim, Outcome
from clinicflow.webhooks.domain.subscriptions import Subscription
from clinicflow.webhooks.views import DeliveryView

# host, port -> the addresses the name resolves to (as getaddrinfo gives them); OSError when
# it does not resolve.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class Subscriptions(Protocol):
    async def active(self) -> list[Subscription]: ...

    async def get(self, subscription_id: str) -> Subscription | None: ...

    async def listed(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        ...

    async def add(self, new: NewSubscription, now: datetime) -> None: ...

    async def change(
        self, subscription_id: str, values: Mapping[str, object], now: datetime
    ) -> bool:
        """Whether there was such a subscription."""
        ...

    async def sealed_secret(self, subscription_id: str) -> str | None:
        """The current secret, sealed (to rotate it)."""
        ...

    async def delete(self, subscription_id: str) -> bool:
        """Its deliveries and their attempts go with it; whether there was one."""
        ...


class Deliveries(Protocol):
    """Deliveries inserted idempotently per (subscription, event), claimed before each attempt
    so two workers never make the same attempt, and attempts recorded."""

    async def add(self, subscription_ids: Sequence[str], event: Outgoing, now: datetime) -> None:
        """One delivery of `event` to each subscription that has none of it yet."""
        ...

    async def claim_due(
        self, now: datetime, until: datetime, limit: int, event_id: str | None = None
    ) -> list[Claim]:
        """Pending deliveries of active subscriptions due at `now`, pushed ahead to `until`
        (the lease: a worker that dies mid-attempt leaves them due again then)."""
        ...

    async def claim_failed(self, delivery_id: str, now: datetime, until: datetime) -> Claim | None:
        """A given-up delivery, taken back for one more attempt (an administrator's retry)."""
        ...

    async def record(self, claim: Claim, outcome: Outcome) -> bool:
        """Log the attempt and move the delivery on. False when the claim was lost meanwhile
        (its lease ran out and another worker took it): the attempt is still logged."""
        ...


class DeliveryLog(Protocol):
    async def deliveries(self, where: DeliveryFilter) -> list[DeliveryView]:
        """Newest first, each with its attempts in order."""
        ...


class WebhooksUnitOfWork(Transaction, Protocol):
    @property
    def subscriptions(self) -> Subscriptions: ...

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def log(self) -> DeliveryLog: ...


class Trail(Protocol):
    """The audit trail's own transactions: reads, and refusals of a role (infra.audit_trail)."""

    async def record_alone(self, actor: Actor, action: str, accesses: Iterable[Access]) -> None: ...

    async def require_role(
        self, actor: Actor, allowed: bool, action: str, access: Access, detail: str
    ) -> None: ...
