"""Microsoft Graph change notifications: the validation handshake, and notifications turned
into delta syncs.

A notification says only that something changed in a mailbox; its content is not trusted
or read (no resource data is asked for). Each one's `clientState` must be one clinicflow
gave a subscription (`NotificationKeys`); the rest are dropped. The sync runs after the
answer (Graph wants one within 3 s, and retries for hours otherwise), on a task this
service holds until it ends; `drain()` waits for them (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import json

from clinicflow.calendars.subscriptions.errors import NotificationRefused, NotificationsOff
from clinicflow.calendars.subscriptions.ports import NotificationKeys, SyncTrigger
from clinicflow.infra.logging import get_logger
from clinicflow.shared.errors import InvalidRequest

log = get_logger(__name__)


async def log_only(source: str, practitioner: str) -> None:
    """The trigger until the calendars service is wired: the periodic sync catches up."""
    log.info("calendar_change_notified", source=source, practitioner=practitioner)


class ChangeNotifications:
    """`keys` None: Microsoft 365 notifications are not configured (404)."""

    def __init__(
        self,
        *,
        keys: NotificationKeys | None,
        on_change: SyncTrigger = log_only,
        source: str = "microsoft",
    ) -> None:
        self._keys = keys
        self._on_change = on_change
        self._source = source
        self._running: set[asyncio.Task[None]] = set()

    def handshake(self, token: str) -> str:
        """Graph's validation request on creating a subscription: the token, as given."""
        self._configured()
        return token

    async def receive(self, body: bytes) -> list[str]:
        """The practitioners whose calendars are synced because of this post."""
        keys = self._configured()
        items = _notifications(body)
        practitioners: dict[str, None] = {}
        for item in items:
            state = item.get("clientState")
            practitioner = keys.practitioner_of(state) if isinstance(state, str) else None
            if practitioner is None:
                log.warning(
                    "calendar_notification_dropped",
                    source=self._source,
                    subscription=str(item.get("subscriptionId", ""))[:64],
                )
                continue
            practitioners[practitioner] = None
        if items and not practitioners:
            raise NotificationRefused("no notification carries a clientState clinicflow gave")
        for practitioner in practitioners:
            task = asyncio.create_task(self._sync(practitioner))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return list(practitioners)

    async def drain(self) -> None:
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _sync(self, practitioner: str) -> None:
        try:
            await self._on_change(self._source, practitioner)
        except Exception:  # the next notification or the periodic sync tries again
            log.exception("calendar_sync_failed", source=self._source, practitioner=practitioner)

    def _configured(self) -> NotificationKeys:
        if self._keys is None:
            raise NotificationsOff("Microsoft 365 calendar notifications are not set up here")
        return self._keys


def _notifications(body: bytes) -> list[dict[str, object]]:
    """`{"value": [changeNotification, …]}` (change and lifecycle notifications alike)."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidRequest("the body is not JSON") from exc
    value = data.get("value") if isinstance(data, dict) else None
    if not isinstance(value, list):
        raise InvalidRequest('expected {"value": [notification, ...]}')
    return [item for item in value if isinstance(item, dict)]
