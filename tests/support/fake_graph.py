"""A fake Microsoft Graph (and its login endpoint) on loopback, speaking the wire format the
Graph adapter (adapters/calendars/microsoft.py) meets in production:

- `POST /login/{tenant}/oauth2/v2.0/token`: client credentials; tokens expire
  (`expire_tokens()`, or `token_lifetime`), then Graph answers 401 InvalidAuthenticationToken;
- `POST /v1.0/users/{m}/calendar/getSchedule`: at most 20 schedules, a period under 62 days;
- `GET /v1.0/users/{m}/calendarView/delta`: pages (`Prefer: odata.maxpagesize`) with
  `@odata.nextLink` then `@odata.deltaLink`; `@removed` items; delta tokens that expire
  (`expire_delta_tokens()`: 400 syncStateNotFound, or 410 Gone with `gone=True`);
- events: `POST` deduplicated by `transactionId`, found by a single-value extended property
  (`$filter=singleValueExtendedProperties/Any(...)`), `PATCH`, `DELETE`;
- subscriptions (fake_graph_subscriptions.py): `POST` runs the validation handshake first
  (plain-text echo within 10 s) and caps the expiry at 4,230 minutes; `GET`, `PATCH`,
  `DELETE`; `notify()` posts a change notification as Graph does;
- MailboxConcurrency: more than 4 requests in flight on one mailbox → 429
  ApplicationThrottled with Retry-After (`latency` keeps requests in flight a while);
- event times in UTC, or in the (IANA) zone a `Prefer: outlook.timezone="…"` header names:
  a wall-clock `dateTime` with that `timeZone`. `zone` answers every request in a zone, as
  though clinicflow had sent the header.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from support.fake_graph_calendar import (
    DeltaRound,
    Mailbox,
    delta_items,
    parse_instant,
    parse_time,
    schedule_of,
)
from support.fake_graph_subscriptions import GraphSubscriptions
from support.fake_graph_wire import CLIENT_ID, CLIENT_SECRET, MAX_CONCURRENT, TENANT, graph_error
from support.fake_http import Reply, Request, json_reply
from support.fake_vendor import Loopback

_PREFER_ZONE = re.compile(r'outlook\.timezone="(?P<zone>[^"]+)"')
_PROPERTY_FILTER = re.compile(
    r"singleValueExtendedProperties/Any\(ep: ep/id eq '(?P<id>(?:[^']|'')+)' "
    r"and ep/value eq '(?P<value>(?:[^']|'')+)'\)"
)


class FakeGraph(GraphSubscriptions, Loopback):
    def __init__(self) -> None:
        super().__init__()
        self.graph_url = f"{self.url}/v1.0"
        self.login_url = f"{self.url}/login"
        self.now = datetime.now(UTC)  # tests set it to their clock
        self.token_lifetime = 3599
        self._tokens: dict[str, datetime] = {}
        self.tokens_issued = 0
        self.mailboxes: dict[str, Mailbox] = {}
        self.page_size = 50  # the most a delta page holds, whatever the client prefers
        self._deltas: dict[str, DeltaRound] = {}
        self.gone = False  # expired delta tokens: 410 Gone instead of syncStateNotFound
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.handshakes: list[int] = []  # the statuses clinicflow answered
        self.latency = 0.0  # seconds each Graph request stays in flight
        self.retry_after = "1"
        self._in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self.throttled = 0
        self.answers: list[int] = []  # statuses to answer Graph requests with first
        self.lose_creates = 0  # creates done but answered 504, as an answer lost on the way
        self.unindexed: set[str] = set()  # events the property filter does not find yet
        self.log: list[tuple[str, str]] = []  # (method, path) of each Graph request
        self.zone: str | None = None  # event times' zone when no Prefer header names one

    # -- set-up and observation -------------------------------------------------------------

    def mailbox(self, address: str) -> Mailbox:
        """The mailbox at `address` (made on first use); change its events under `lock()`."""
        with self._lock:
            return self.mailboxes.setdefault(address.lower(), Mailbox(address.lower()))

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def expire_delta_tokens(self) -> None:
        """Graph evicted every sync state (Outlook delta tokens have no fixed lifetime)."""
        with self._lock:
            self._deltas.clear()

    def events(self, address: str) -> list[dict[str, Any]]:
        box = self.mailbox(address)
        with self._lock:
            return [e.wire() for e in box.live()]

    def calls(self, method: str, fragment: str) -> int:
        return sum(1 for m, p in self.log if m == method and fragment in p)

    # -- dispatch ---------------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        if request.path.startswith("/login/"):
            return self._token(request)
        if not request.path.startswith("/v1.0/"):
            return graph_error(404, "UnknownError", "not a Graph path")
        with self._lock:
            self.log.append((request.method, request.path))
        if not self._authorised(request):
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        path = request.path.removeprefix("/v1.0")
        mailbox = _mailbox_of(path)
        with self._in_flight_on(mailbox) as allowed:
            if not allowed:
                return graph_error(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    **{"Retry-After": self.retry_after},
                )
            forced = self._forced()
            if forced is not None:
                return self._forced_reply(forced)
            if self.latency:
                time.sleep(self.latency)  # holds the request in flight, as a slow server does
            return self._route(request, path, mailbox)

    @contextmanager
    def _in_flight_on(self, mailbox: str | None) -> Iterator[bool]:
        if mailbox is None:
            yield True
            return
        with self._lock:
            count = self._in_flight.get(mailbox, 0) + 1
            self._in_flight[mailbox] = count
            self.most_in_flight[mailbox] = max(self.most_in_flight.get(mailbox, 0), count)
            allowed = count <= MAX_CONCURRENT
            if not allowed:
                self.throttled += 1
        try:
            yield allowed
        finally:
            with self._lock:
                self._in_flight[mailbox] -= 1

    def _forced(self) -> int | None:
        with self._lock:
            return self.answers.pop(0) if self.answers else None

    def _forced_reply(self, status: int) -> Reply:
        if status == 429:
            return graph_error(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
                **{"Retry-After": self.retry_after},
            )
        return graph_error(status, "ServiceUnavailable", "The service is temporarily unavailable.")

    def _zone(self, request: Request) -> str | None:
        """The zone the answer writes times in (None: UTC)."""
        asked = _PREFER_ZONE.search(request.headers.get("prefer", ""))
        return asked["zone"] if asked else self.zone

    def _route(self, request: Request, path: str, mailbox: str | None) -> Reply:
        method = request.method
        if path.startswith("/subscriptions"):
            return self._subscriptions(request, path)
        if mailbox is None:
            return graph_error(404, "ResourceNotFound", "Resource not found for the segment.")
        rest = path.split("/", 3)[3] if path.count("/") >= 3 else ""
        if method == "POST" and rest == "calendar/getSchedule":
            return self._get_schedule(request)
        if method == "GET" and rest == "calendarView/delta":
            return self._delta(request, mailbox)
        if rest == "events" and method == "POST":
            return self._create(request, mailbox)
        if rest == "events" and method == "GET":
            return self._find(request, mailbox)
        if rest.startswith("events/") and method in ("PATCH", "DELETE"):
            return self._change(request, mailbox, unquote(rest.removeprefix("events/")))
        return graph_error(400, "BadRequest", f"Unsupported request {method} {path}")

    # -- auth -------------------------------------------------------------------------------

    def _token(self, request: Request) -> Reply:
        if request.path != f"/login/{TENANT}/oauth2/v2.0/token" or request.method != "POST":
            return json_reply(400, {"error": "invalid_request"})
        form = {k: v[-1] for k, v in request.form().items()}
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return json_reply(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215"}
            )
        if form.get("scope") != "https://graph.microsoft.com/.default":
            return json_reply(400, {"error": "invalid_scope"})
        token = "eyJ0eXAi." + uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = self.now + timedelta(seconds=self.token_lifetime)
            self.tokens_issued += 1
        return json_reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            },
        )

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            expires = self._tokens.get(given)
        return expires is not None and self.now < expires

    # -- getSchedule and delta --------------------------------------------------------------

    def _get_schedule(self, request: Request) -> Reply:
        body = json.loads(request.body)
        schedules = [str(s) for s in body.get("schedules", [])]
        start, end = parse_time(body["startTime"]), parse_time(body["endTime"])
        interval = int(body.get("availabilityViewInterval", 30))
        if not schedules or len(schedules) > 20:
            return graph_error(400, "ErrorInvalidParameter", "schedules: between 1 and 20")
        if not timedelta(0) < end - start < timedelta(days=62):
            return graph_error(400, "ErrorInvalidParameter", "the period must be under 62 days")
        if not 5 <= interval <= 1440:
            return graph_error(400, "ErrorInvalidParameter", "availabilityViewInterval 5-1440")
        value = []
        with self._lock:
            for address in schedules:
                box = self.mailboxes.get(address.lower())
                if box is None:
                    value.append(_unknown_schedule(address))
                else:
                    found = schedule_of(box, start, end, interval, self._zone(request))
                    value.append(found | {"scheduleId": address})
        return json_reply(200, {"value": value})

    def _delta(self, request: Request, mailbox: str) -> Reply:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.target).query).items()}
        # Odata.maxpagesize is a preference: the server may send fewer (at most `page_size`).
        size = min(_page_size(request.headers.get("prefer", "")) or 10**6, self.page_size)
        with self._lock:
            box = self.mailboxes.setdefault(mailbox, Mailbox(mailbox))
            token = query.get("$deltatoken") or query.get("$skiptoken")
            if token is not None:
                found = self._deltas.get(token)
                if found is None:
                    if self.gone:
                        return graph_error(410, "Gone", "The delta token is no longer valid.")
                    return graph_error(400, "syncStateNotFound", "The sync state was not found.")
                round_ = found
                if "$deltatoken" in query:  # a new round from the saved state
                    round_ = DeltaRound(mailbox, found.start, found.end, found.upto, box.version)
            else:
                start = parse_instant(query["startDateTime"])
                end = parse_instant(query["endDateTime"])
                round_ = DeltaRound(mailbox, start, end, 0, box.version)
            items = delta_items(box, round_, self._zone(request))
            page = items[round_.offset : round_.offset + size]
            base = f"{self.graph_url}/users/{quote(mailbox)}/calendarView/delta"
            key = uuid.uuid4().hex
            if round_.offset + size < len(items):
                self._deltas[key] = DeltaRound(
                    mailbox,
                    round_.start,
                    round_.end,
                    round_.since,
                    round_.upto,
                    round_.offset + size,
                )
                link = {"@odata.nextLink": f"{base}?$skiptoken={key}"}
            else:
                self._deltas[key] = DeltaRound(mailbox, round_.start, round_.end, 0, round_.upto)
                link = {"@odata.deltaLink": f"{base}?$deltatoken={key}"}
        return json_reply(
            200, {"@odata.context": "…/$metadata#Collection(event)", "value": page} | link
        )

    # -- events -----------------------------------------------------------------------------

    def _create(self, request: Request, mailbox: str) -> Reply:
        body = json.loads(request.body)
        with self._lock:
            box = self.mailboxes.setdefault(mailbox, Mailbox(mailbox))
            transaction = body.get("transactionId")
            existing = box.by_transaction(transaction) if transaction else None
            if existing is not None:  # a retried create: the event it already made
                return json_reply(201, existing.wire(self._zone(request)))
            properties = {
                str(p["id"]): str(p["value"]) for p in body.get("singleValueExtendedProperties", [])
            }
            event = box.add(
                str(body.get("subject", "")),
                parse_time(body["start"]),
                parse_time(body["end"]),
                show_as=str(body.get("showAs", "busy")),
                transaction_id=transaction,
                properties=properties,
            )
            if self.lose_creates > 0:
                self.lose_creates -= 1
                self.unindexed.add(event.id)
                return graph_error(504, "GatewayTimeout", "The gateway timed out.")
        return json_reply(201, event.wire(self._zone(request)))

    def _find(self, request: Request, mailbox: str) -> Reply:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(request.target).query).items()}
        match = _PROPERTY_FILTER.fullmatch(query.get("$filter", ""))
        if match is None:
            return graph_error(400, "ErrorInvalidUrlQueryFilter", "The filter is not supported.")
        prop, value = match["id"].replace("''", "'"), match["value"].replace("''", "'")
        with self._lock:
            box = self.mailboxes.setdefault(mailbox, Mailbox(mailbox))
            found = [
                e.wire(self._zone(request))
                for e in box.live()
                if e.properties.get(prop) == value and e.id not in self.unindexed
            ]
        return json_reply(200, {"value": found})

    def _change(self, request: Request, mailbox: str, event_id: str) -> Reply:
        with self._lock:
            box = self.mailboxes.setdefault(mailbox, Mailbox(mailbox))
            event = box.events.get(event_id)
            if event is None or event.deleted:
                return graph_error(404, "ErrorItemNotFound", "The specified object was not found.")
            if request.method == "DELETE":
                event.deleted = True
                box.touch(event)
                return Reply(204, {})
            body = json.loads(request.body)
            if "start" in body:
                event.start = parse_time(body["start"])
            if "end" in body:
                event.end = parse_time(body["end"])
            event.subject = str(body.get("subject", event.subject))
            event.show_as = str(body.get("showAs", event.show_as))
            box.touch(event)
            return json_reply(200, event.wire(self._zone(request)))


def _mailbox_of(path: str) -> str | None:
    parts = path.split("/")
    return unquote(parts[2]).lower() if len(parts) > 2 and parts[1] == "users" else None


def _page_size(prefer: str) -> int | None:
    match = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    return int(match[1]) if match else None


def _unknown_schedule(address: str) -> dict[str, Any]:
    return {
        "scheduleId": address,
        "availabilityView": "",
        "scheduleItems": [],
        "error": {
            "message": f"The mailbox {address} could not be found.",
            "responseCode": "ErrorMailRecipientNotFound",
        },
    }
