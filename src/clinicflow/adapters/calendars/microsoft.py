"""Microsoft 365 calendars through Microsoft Graph, app-only (client credentials), as thin
async calls on the injected httpx client (no SDK: ~6 endpoints; msgraph-sdk is 130 MB and a
second to import).

One `MicrosoftCalendar` per clinic, for the practitioners whose `microsoft.mailbox` is set in
config/clinic.yaml:
- a busy-time source (`calendars.ports.BusyFeed`): `snapshot` (getSchedule), `changes`
  (calendarView/delta), `live` (getSchedule, tight timeout), in `_graph_feed`;
- the write-back target (`integrations.ports.CalendarSync`), in `_graph_events`;
- the change-notification subscriptions and their clientState check, in
  `_graph_subscriptions` (the route is calendars/subscriptions/api.py).

docs/calendars.md ("Microsoft 365") says how a clinic registers the app and scopes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from clinicflow.adapters.calendars._graph_events import GraphEvents
from clinicflow.adapters.calendars._graph_feed import GraphBusyFeed
from clinicflow.adapters.calendars._graph_http import GraphApp, GraphClient
from clinicflow.adapters.calendars._graph_subscriptions import ClientStates, GraphSubscriptions
from clinicflow.adapters.calendars._graph_wire import SOURCE
from clinicflow.calendars.domain.busy import BusyInterval, Delta, Snapshot
from clinicflow.integrations.ports import SyncedVisit
from clinicflow.shared.clock import Clock

__all__ = ["NOTIFICATIONS_PATH", "GraphApp", "GraphClient", "MicrosoftCalendar"]

NOTIFICATIONS_PATH = "/v1/webhooks/microsoft"


class MicrosoftCalendar:
    name = SOURCE

    def __init__(
        self,
        graph: GraphClient,
        mailboxes: Mapping[str, str],
        clock: Clock,
        *,
        service_names: Mapping[str, str] | None = None,
        notification_secret: str | None = None,
        notification_url: str | None = None,
        subscription_minutes: int = 4200,
        renew_before: timedelta = timedelta(hours=12),
        window_days: int = 60,
        live_timeout: float = 1.5,
    ) -> None:
        self.graph = graph
        self.mailboxes = dict(mailboxes)
        names = dict(service_names or {})
        self.feed = GraphBusyFeed(
            graph, mailboxes, clock, window_days=window_days, live_timeout=live_timeout
        )
        self.events = GraphEvents(
            graph, mailboxes, lambda key: names.get(key, key.replace("_", " "))
        )
        self.client_states: ClientStates | None = None
        self.subscriptions: GraphSubscriptions | None = None
        if notification_secret and notification_url:
            self.client_states = ClientStates(notification_secret, frozenset(mailboxes))
            self.subscriptions = GraphSubscriptions(
                graph,
                mailboxes,
                self.client_states,
                notification_url,
                minutes=subscription_minutes,
                renew_before=renew_before,
            )

    # -- BusyFeed ---------------------------------------------------------------------------

    def covers(self, practitioner: str) -> bool:
        return self.feed.covers(practitioner)

    async def snapshot(
        self, practitioners: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[Snapshot]:
        return await self.feed.snapshot(practitioners, start, end)

    async def changes(self, practitioner: str, cursor: str | None) -> Delta | None:
        return await self.feed.changes(practitioner, cursor)

    async def live(
        self, practitioner: str, start: datetime, end: datetime
    ) -> Sequence[BusyInterval]:
        return await self.feed.live(practitioner, start, end)

    # -- CalendarSync -----------------------------------------------------------------------

    async def upsert_visit(self, visit: SyncedVisit) -> None:
        await self.events.upsert_visit(visit)

    async def remove_visit(self, booking_id: str, practitioner: str) -> None:
        await self.events.remove_visit(booking_id, practitioner)

    # -- subscriptions ----------------------------------------------------------------------

    def practitioner_of(self, client_state: str) -> str | None:
        """Whose calendar a notification is about, if its clientState is one of ours."""
        return (
            None if self.client_states is None else self.client_states.practitioner_of(client_state)
        )

    async def keep_subscriptions(self, now: datetime) -> int:
        """The renewal job: creates, renews and prunes the subscriptions."""
        return 0 if self.subscriptions is None else await self.subscriptions.keep(now)
