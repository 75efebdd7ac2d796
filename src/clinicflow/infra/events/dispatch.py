"""Handing one event to one subscriber: inbox, ordering, retries and dead letters.

Both transports call `Dispatcher.deliver` and act on its outcome: the in-process one leaves
pending rows for its next sweep, the Redis one acknowledges an entry only once it is settled
(handled, a duplicate, or dead-lettered), so an unsettled entry stays with its consumer and a
worker that dies leaves it to be claimed by the next.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from contextlib import ExitStack

from clinicflow.infra.bus import BatchSubscriber, Published, Subscriber
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

    async def deliver_page(self, subscriber: BatchSubscriber, page: Sequence[Published]) -> int:
        """`deliver` for each of `page` (in outbox order), the due ones handed over in one
        batch and marked handled in one transaction; how many were tried (neither not due
        nor blocked). A batch that raises is delivered one by one instead."""
        states = await self.ledger.states(subscriber.name, page)
        due = [item for item, state in zip(page, states, strict=True) if state is State.DUE]
        handled = [item for item, state in zip(page, states, strict=True) if state is State.HANDLED]
        asked = [item for item, state in zip(page, states, strict=True) if state is None]
        await self.ledger.succeeded_many(subscriber.name, handled)
        tried = len(handled) + states.count(State.DEAD)
        if due:
            try:
                with ExitStack() as spans:  # each event's span, in its own trace
                    for item in due:
                        spans.enter_context(delivery_span(item.event, subscriber.name))
                    await subscriber.handle_batch([item.event for item in due])
            except Exception:
                log.warning(
                    "batch_delivery_failed",
                    subscriber=subscriber.name,
                    events=len(due),
                    outcome="one_by_one",
                )
                asked = sorted([*asked, *due], key=lambda item: item.seq)
            else:
                await self.ledger.succeeded_many(subscriber.name, due)
                tried += len(due)
        for item in asked:
            tried += await self.deliver(subscriber, item) not in (Outcome.NOT_DUE, Outcome.BLOCKED)
        return tried
