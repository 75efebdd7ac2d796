"""The bus subscriber: each event becomes one delivery per active subscription that wants
it, tried at once; later attempts follow the webhooks' retry schedule (`jobs.WebhookSender`).

Idempotent: a delivery is unique per (subscription, event), so an event the bus delivers
twice adds nothing, and a delivery already made is not made again. A receiver's failure is
never raised here: it would make the bus redeliver the event to every subscription.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC

from clinicflow.infra.bus import Envelope
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.webhooks.commands import Outgoing
from clinicflow.webhooks.jobs import WebhookSender
from clinicflow.webhooks.ports import WebhooksUnitOfWork


def body_of(event: Envelope) -> str:
    """The JSON receivers get; built once per delivery and stored, so retries resend it."""
    document = {
        "id": event.event_id,
        "type": event.type,
        "version": event.version,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "aggregate": {"type": event.aggregate_type, "id": event.aggregate_id},
        "data": dict(event.payload),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)


class WebhookFanout:
    name = "webhooks"

    def __init__(
        self,
        *,
        uow: UnitsOfWork[WebhooksUnitOfWork],
        clock: Clock,
        sender: WebhookSender,
        known_types: Collection[str],
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._sender = sender
        # The bus hands a subscriber only the types it names: "*" subscriptions get these.
        self.types = frozenset(known_types)

    async def handle(self, event: Envelope) -> None:
        now = self._clock.now()
        body = body_of(event)
        async with self._uow() as uow:
            wanted = [sub.id for sub in await uow.subscriptions.active() if sub.wants(event.type)]
            await uow.deliveries.add(wanted, Outgoing(event.event_id, event.type, body), now)
            await uow.commit()
        if wanted:
            await self._sender.send_event(event.event_id)
