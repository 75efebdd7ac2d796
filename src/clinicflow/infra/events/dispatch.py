"""Handing one event to one subscriber: inbox, ordering, retries and dead letters.

Both transports call `Dispatcher.deliver` and act on its outcome: the in-process one leaves
pending rows for its next sweep, the Redis one acknowledges an entry only once it is settled
(handled, a duplicate, or dead-lettered), so an unsettled entry stays with its consumer and a
worker that dies leaves it to be claimed by the next.
"""

from __future__ import annotations

import enum

from clinicflow.infra.bus import Published, Subscriber
from clinicflow.infra.events.ledger import DEAD, Ledger, State
from clinicflow.infra.logging import get_logger
from clinicflow.infra.telemetry import delivery_span

log = get_logger(__name__)


class Outcome(enum.Enum):
    DONE = "done"
    DUPLICATE = "duplicate"
    DEAD = "dead"
    FAILED = "failed"  # will be retried after its backoff
    NOT_DUE = "not_due"
    BLOCKED = "blocked"

    @property
    def settled(self) -> bool:
        return self in (Outcome.DONE, Outcome.DUPLICATE, Outcome.DEAD)


class Dispatcher:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def deliver(self, subscriber: Subscriber, item: Published) -> Outcome:
        state = await self.ledger.state(subscriber.name, item)
        if state is State.HANDLED:
            # Handled before (perhaps by a worker that died before recording it): settle it.
            await self.ledger.succeeded(subscriber.name, item)
            return Outcome.DUPLICATE
        if state is not State.DUE:
            return {
                State.DEAD: Outcome.DEAD,
                State.NOT_DUE: Outcome.NOT_DUE,
                State.BLOCKED: Outcome.BLOCKED,
            }[state]
        try:
            with delivery_span(item.event, subscriber.name):  # the recording request's trace
                await subscriber.handle(item.event)
        except Exception as exc:
            status = await self.ledger.failed(subscriber.name, item, exc)
            # The error's type and the ids only: messages may carry PHI.
            log.warning(
                "subscriber_failed",
                subscriber=subscriber.name,
                event_id=item.event.event_id,
                event_type=item.event.type,
                error=type(exc).__name__,
                outcome="dead_lettered" if status == DEAD else "will_retry",
            )
            return Outcome.DEAD if status == DEAD else Outcome.FAILED
        await self.ledger.succeeded(subscriber.name, item)
        return Outcome.DONE
