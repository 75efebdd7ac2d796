"""Bookings written into the practitioner's Microsoft 365 calendar (`CalendarSync`).

Each visit is one event, found again by the booking id it carries in a single-value extended
property (Graph's documented way to find an item by a client's own id), and created with
`transactionId` = the booking id, so a create retried after a lost answer is not made twice.
Upsert: find it; PATCH it when its times moved (a reschedule), else POST it. Remove: find it
and DELETE it (gone already is fine). Calls come from the outbox: a failure raises and the
bus tries again later.

What the event says: "clinicflow visit: <service>" and the times, shown as busy, with no
attendees (nobody is invited) and no patient data: names, contact details and notes stay in
clinicflow (PHI). The practitioner opens clinicflow for who is coming.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from clinicflow.adapters.calendars._graph_http import GraphClient
from clinicflow.adapters.calendars._graph_wire import graph_time, read_time
from clinicflow.infra.logging import get_logger
from clinicflow.integrations.ports import SyncedVisit

log = get_logger(__name__)

# A named MAPI property in a GUID space of clinicflow's own: the booking id on each event.
BOOKING_PROPERTY = "String {6b3f4a52-8c1e-4d8a-9a7e-2f6c0d1e9b44} Name clinicflowBookingId"
BODY = (
    "Booked in clinicflow. Who is coming and why stays in clinicflow; open it there. "
    "Changes made here are not read back: reschedule or cancel in clinicflow."
)


class GraphEvents:
    name = "microsoft"

    def __init__(
        self,
        graph: GraphClient,
        mailboxes: Mapping[str, str],
        service_names: Callable[[str], str],
    ) -> None:
        self._graph = graph
        self._mailboxes = dict(mailboxes)
        self._service_name = service_names

    async def upsert_visit(self, visit: SyncedVisit) -> None:
        mailbox = self._mailboxes.get(visit.practitioner)
        if mailbox is None:
            return  # this practitioner has no Microsoft 365 calendar
        found = await self._find(mailbox, visit.booking_id)
        wanted = self._event(visit)
        if not found:
            url = f"{self._graph.user(mailbox)}/events"
            answer = await self._graph.call("POST", url, mailbox=mailbox, json=wanted)
            log.info("graph_event_created", booking_id=visit.booking_id)
            # A transactionId Graph has seen gives back the event it made then: one the
            # property filter did not find yet (just made, its answer lost). If the visit
            # moved since, it is moved below like any found one.
            found = [answer.json()]
        first, *extra = found
        if _moved(first, visit) or first.get("subject") != wanted["subject"]:
            changes = {k: wanted[k] for k in ("subject", "start", "end", "showAs")}
            url = f"{self._graph.user(mailbox)}/events/{quote(str(first['id']), safe='')}"
            await self._graph.call("PATCH", url, mailbox=mailbox, json=changes)
            log.info("graph_event_moved", booking_id=visit.booking_id)
        for duplicate in extra:  # cannot be made by this adapter; cleaned up if found
            await self._delete(mailbox, str(duplicate["id"]))

    async def remove_visit(self, booking_id: str, practitioner: str) -> None:
        mailbox = self._mailboxes.get(practitioner)
        if mailbox is None:
            return
        for event in await self._find(mailbox, booking_id):
            await self._delete(mailbox, str(event["id"]))
        log.info("graph_event_removed", booking_id=booking_id)

    def _event(self, visit: SyncedVisit) -> dict[str, Any]:
        return {
            "subject": f"clinicflow visit: {self._service_name(visit.service)}",
            "body": {"contentType": "text", "content": BODY},
            "start": graph_time(visit.start),
            "end": graph_time(visit.end),
            "showAs": "busy",
            "isReminderOn": False,
            "transactionId": visit.booking_id,
            "singleValueExtendedProperties": [{"id": BOOKING_PROPERTY, "value": visit.booking_id}],
        }

    async def _find(self, mailbox: str, booking_id: str) -> list[dict[str, Any]]:
        quoted = booking_id.replace("'", "''")
        query = urlencode(
            {
                "$filter": (
                    f"singleValueExtendedProperties/Any(ep: ep/id eq '{BOOKING_PROPERTY}'"
                    f" and ep/value eq '{quoted}')"
                ),
                "$select": "id,subject,start,end",
            }
        )
        url = f"{self._graph.user(mailbox)}/events?{query}"
        answer = await self._graph.call("GET", url, mailbox=mailbox)
        events: list[dict[str, Any]] = answer.json().get("value", [])
        return events

    async def _delete(self, mailbox: str, event_id: str) -> None:
        url = f"{self._graph.user(mailbox)}/events/{quote(event_id, safe='')}"
        await self._graph.call("DELETE", url, mailbox=mailbox, accept=frozenset({404}))


def _moved(event: Mapping[str, Any], visit: SyncedVisit) -> bool:
    try:
        return (read_time(event.get("start")), read_time(event.get("end"))) != (
            visit.start,
            visit.end,
        )
    except ValueError:
        return True
