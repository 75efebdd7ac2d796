"""Finishing messages whose worker died mid-send: the recovery job.

A message is claimed (`sending`) before its provider call. When the worker dies inside that
call, nothing tells us whether the provider took it. Redis redelivers the event to another
worker, but it may do so before the claim is old enough to be taken as abandoned, and a
reminder has no event at all; so this job, run by every worker, looks for claims older than
the dispatcher's `sending_timeout` and sends those messages again, with the same Message-ID
(a mail system that got the first copy drops the second). Reminder messages planned but
never claimed are picked up here too.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.notifications.messages.errors import DeliveryFailed
from clinicflow.notifications.messages.service import Dispatcher
from clinicflow.notifications.ports import NotificationsUnitOfWork


class DispatchingJob:
    """A periodic job that takes up to `batch` rows a run and sends their messages."""

    def __init__(
        self,
        *,
        uow: UnitsOfWork[NotificationsUnitOfWork],
        dispatcher: Dispatcher,
        batch: int = 100,
    ) -> None:
        self._uow = uow
        self._dispatcher = dispatcher
        self._batch = batch


class StuckMessages(DispatchingJob):
    async def resume(self, now: datetime) -> int:
        """Send again what was abandoned before `now - sending_timeout`; how many events."""
        abandoned = now - self._dispatcher.sending_timeout
        async with self._uow() as uow:
            events = await uow.messages.abandoned_events(abandoned, self._batch)
            found = [await self._dispatcher.prepare_again(uow, event_id) for event_id in events]
            await uow.commit()
        for prepared in found:
            if prepared is not None:
                # The failure is on the message row; one bad address must not stop the rest.
                with contextlib.suppress(DeliveryFailed):
                    await self._dispatcher.send(prepared)
        return len(events)
