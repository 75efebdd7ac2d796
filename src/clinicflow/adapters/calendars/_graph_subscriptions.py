"""Change-notification subscriptions on each practitioner's calendar events.

Graph posts to `notification_url` when an event is created, updated or deleted; clinicflow
then runs a delta sync of that mailbox (the notification itself is only a nudge: its
content is never trusted, the delta is). Each subscription's `clientState` is
`<practitioner>.<HMAC of the practitioner under the notification secret>`: Graph echoes it
in every notification, so the route knows whose calendar changed and that the notification
comes from a subscription clinicflow made, without a lookup (Graph signs nothing else).

`keep` runs as a periodic job: it lists the app's subscriptions (Graph holds the state; no
table needed), creates the missing ones (Graph first posts the validation handshake to
`notification_url`, which must answer within 10 s), renews those expiring within
`renew_before` (Outlook events allow at most 4,230 minutes), and deletes duplicates two
workers may have made at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from clinicflow.adapters.calendars._graph_http import GraphClient, GraphError
from clinicflow.adapters.calendars._graph_wire import iso
from clinicflow.infra.logging import get_logger

log = get_logger(__name__)

MAX_MINUTES = 4230  # Outlook event subscriptions
CHANGES = "created,updated,deleted"


class ClientStates:
    """The clientState for each practitioner's subscription, and the check of one received."""

    def __init__(self, secret: str, practitioners: frozenset[str]) -> None:
        self._key = hashlib.sha256(b"clinicflow graph clientState|" + secret.encode()).digest()
        self._practitioners = practitioners

    def __repr__(self) -> str:
        return "ClientStates(…)"

    def of(self, practitioner: str) -> str:
        mac = hmac.new(self._key, practitioner.encode(), hashlib.sha256).digest()
        return f"{practitioner}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    def practitioner_of(self, client_state: str) -> str | None:
        practitioner, _, _ = client_state.rpartition(".")
        if practitioner not in self._practitioners:
            return None
        return practitioner if hmac.compare_digest(self.of(practitioner), client_state) else None


class GraphSubscriptions:
    def __init__(
        self,
        graph: GraphClient,
        mailboxes: Mapping[str, str],
        states: ClientStates,
        notification_url: str,
        *,
        minutes: int = 4200,
        renew_before: timedelta = timedelta(hours=12),
    ) -> None:
        if not 0 < minutes <= MAX_MINUTES:
            raise ValueError(f"Outlook event subscriptions last at most {MAX_MINUTES} minutes")
        self._graph = graph
        self._mailboxes = dict(mailboxes)
        self._states = states
        self._url = notification_url
        self._lifetime = timedelta(minutes=minutes)
        self._renew_before = min(renew_before, self._lifetime / 2)

    def resource(self, practitioner: str) -> str:
        return f"/users/{self._mailboxes[practitioner]}/events"

    async def keep(self, now: datetime) -> int:
        """Creates, renews and prunes; returns how many subscriptions it touched."""
        mine = await self._listed()
        touched = 0
        for practitioner, mailbox in self._mailboxes.items():
            held = sorted(
                mine.get(_resource_key(self.resource(practitioner)), []),
                key=lambda s: str(s.get("expirationDateTime", "")),
                reverse=True,
            )
            try:
                touched += await self._keep_one(practitioner, mailbox, held, now)
            except GraphError as exc:  # one mailbox failing must not stop the others
                log.warning("graph_subscription_failed", practitioner=practitioner, code=exc.code)
        return touched

    async def _keep_one(
        self, practitioner: str, mailbox: str, held: list[dict[str, Any]], now: datetime
    ) -> int:
        if not held:
            await self._create(practitioner, mailbox, now)
            return 1
        best, *extra = held
        touched = 0
        for duplicate in extra:
            await self._call("DELETE", f"/subscriptions/{duplicate['id']}", mailbox)
            touched += 1
        expires = datetime.fromisoformat(str(best["expirationDateTime"]).replace("Z", "+00:00"))
        if expires - now < self._renew_before:
            body = {"expirationDateTime": iso(now + self._lifetime)}
            await self._call("PATCH", f"/subscriptions/{best['id']}", mailbox, body)
            log.info("graph_subscription_renewed", practitioner=practitioner)
            touched += 1
        return touched

    async def _create(self, practitioner: str, mailbox: str, now: datetime) -> None:
        body = {
            "changeType": CHANGES,
            "notificationUrl": self._url,
            "lifecycleNotificationUrl": self._url,
            "resource": self.resource(practitioner),
            "expirationDateTime": iso(now + self._lifetime),
            "clientState": self._states.of(practitioner),
            "latestSupportedTlsVersion": "v1_2",
        }
        await self._call("POST", "/subscriptions", mailbox, body)
        log.info("graph_subscription_created", practitioner=practitioner)

    async def _listed(self) -> dict[str, list[dict[str, Any]]]:
        """The app's subscriptions to `notification_url`, by resource."""
        out: dict[str, list[dict[str, Any]]] = {}
        url: str | None = self._graph.url("/subscriptions")
        while url is not None:
            # Not a mailbox's request: the gate is the app's own.
            page = (await self._graph.call("GET", url, mailbox="")).json()
            for item in page.get("value", []):
                if item.get("notificationUrl") == self._url:
                    out.setdefault(_resource_key(str(item.get("resource", ""))), []).append(item)
            link = page.get("@odata.nextLink")
            url = str(link) if link else None
        return out

    async def _call(
        self, method: str, path: str, mailbox: str, body: object = None
    ) -> dict[str, Any]:
        answer = await self._graph.call(
            method,
            self._graph.url(quote(path, safe="/")),
            mailbox=mailbox,
            json=body,
            accept=frozenset({404}) if method == "DELETE" else frozenset(),
        )
        return dict(answer.json()) if answer.content else {}


def _resource_key(resource: str) -> str:
    return resource.strip("/").lower()
