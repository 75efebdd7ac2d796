"""A fake Calendly API v2 on loopback, speaking its wire format (reference/integrations.md §1).

* `GET /users/me`: the token's user and organization;
* `GET /user_busy_times`: the user's items between `start_time` and `end_time`, refused
  with Calendly's 400 when the range is longer than 7 days or ends before it starts; items
  are `type: calendly` (with buffered times and the scheduled event's URI) or
  `type: external` (times only);
* every answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds until the
  window reopens); past `limit` requests in a window it answers 429, as Calendly does. The
  window's clock is `monotonic`, which a test shares with the adapter so nobody sleeps;
* `POST/GET/DELETE /webhook_subscriptions`: subscriptions kept with their signing key
  (the wire format: fake_calendly_wire.py);
* `answers` / `failing` (FakeVendor's): statuses to answer instead, for outages;
* `latency`: seconds added to every answer, off by default (benchmarks/calendars.py);
  `most_in_flight` (the most requests it was answering at once) and `arrivals` (each
  request's `monotonic` time) show how the adapter paced itself.

And Calendly's side of the webhooks: `webhook(...)` builds a signed `invitee.*` delivery
(`Calendly-Webhook-Signature: t=…,v1=…`, HMAC-SHA256 of `t.body` with the signing key),
which `deliver` posts to every subscription that asked for the event.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from support.fake_calendly_wire import (
    API,
    ME,
    SIGNING_KEY,
    TOKEN,
    Invitee,
    Subscription,
    calendly_error,
    invalid_parameter,
    invitee_payload,
    parse,
    query_of,
    sign,
    subscription_json,
    user_json,
    wire,
)
from support.fake_http import Reply, Request, json_reply
from support.fake_vendor import FakeVendor


class FakeCalendly(FakeVendor):
    def __init__(
        self, token: str = TOKEN, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.token = token
        self.monotonic = monotonic
        self.limit = 500  # requests a minute, Calendly's paid plan
        self.latency = 0.0
        self.busy: dict[str, list[dict[str, Any]]] = {}  # user URI → items, wire format
        self.subscriptions: dict[str, Subscription] = {}
        self.busy_calls: list[tuple[str, datetime, datetime]] = []  # (user, start, end)
        self.rate_limited = 0  # how many 429s it answered
        self.in_flight = 0
        self.most_in_flight = 0
        self.arrivals: list[float] = []  # `monotonic` when each request came in
        self._window_start = monotonic()
        self._window_count = 0
        self._ids = itertools.count(1)

    # -- what happens on Calendly's side ----------------------------------------------------

    def add_booking(
        self,
        user: str,
        start: datetime,
        end: datetime,
        *,
        before_min: int = 0,
        after_min: int = 0,
    ) -> str:
        """A `type: calendly` busy item with the event type's buffers; its event URI."""
        event = f"{API}/scheduled_events/EV{next(self._ids):014d}"
        item = {
            "type": "calendly",
            "start_time": wire(start),
            "end_time": wire(end),
            "buffered_start_time": wire(start - timedelta(minutes=before_min)),
            "buffered_end_time": wire(end + timedelta(minutes=after_min)),
            "event": {"uri": event},
        }
        with self._lock:
            self.busy.setdefault(user, []).append(item)
        return event

    def add_external(self, user: str, start: datetime, end: datetime) -> None:
        """Time taken in a calendar connected to Calendly (Outlook, Google …)."""
        item = {"type": "external", "start_time": wire(start), "end_time": wire(end)}
        with self._lock:
            self.busy.setdefault(user, []).append(item)

    def invitee(
        self,
        host: str,
        event_type: str,
        start: datetime,
        minutes: int,
        *,
        email: str = "pat@example.com",
        first_name: str = "Pat",
        last_name: str = "Example",
        phone: str | None = None,
    ) -> Invitee:
        """Someone books on the host's Calendly page (its busy item is added too)."""
        event = self.add_booking(host, start, start + timedelta(minutes=minutes))
        invitee = f"{event}/invitees/IN{next(self._ids):014d}"
        end = start + timedelta(minutes=minutes)
        return Invitee(
            invitee, event, event_type, host, start, end, email, first_name, last_name, phone
        )

    # -- webhooks -----------------------------------------------------------------------------

    def webhook(
        self,
        name: str,
        invitee: Invitee,
        *,
        key: str = SIGNING_KEY,
        at: datetime,
        signed_at: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of one delivery of `name` ("invitee.created" …) as Calendly
        signs it; `signed_at` (unix seconds) defaults to `at`."""
        body = json.dumps(
            {
                "created_at": wire(at),
                "created_by": ME,
                "event": name,
                "payload": invitee_payload(name, invitee, at),
            }
        ).encode()
        stamp = int(at.timestamp()) if signed_at is None else signed_at
        headers = {
            "Content-Type": "application/json",
            "Calendly-Webhook-Signature": sign(key, body, stamp),
        }
        return headers, body

    def deliver(self, name: str, invitee: Invitee, at: datetime) -> list[int]:
        """Posts `name` to every active subscription that asked for it; their answers."""
        answers = []
        for subscription in list(self.subscriptions.values()):
            if subscription.state != "active" or name not in subscription.events:
                continue
            headers, body = self.webhook(name, invitee, key=subscription.signing_key or "", at=at)
            request = urllib.request.Request(
                subscription.callback_url, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = int(response.status)
            except urllib.error.HTTPError as exc:
                status = exc.code
            subscription.delivered.append(status)
            answers.append(status)
        return answers

    # -- HTTP ---------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            self.arrivals.append(self.monotonic())
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)  # held in flight, as a slow server does
            return self._answer(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, request: Request) -> Reply:
        forced = self._forced()
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return calendly_error(401, "Unauthenticated", "The access token is invalid")
        with self._lock:
            limited, headers = self._count()
        if limited:
            self.rate_limited += 1
            return json_reply(
                429,
                {"title": "Too Many Requests", "message": "Rate limit exceeded"},
                headers,
            )
        if forced is not None:
            return json_reply(
                forced, {"title": "Internal Server Error", "message": "Try again later"}, headers
            )
        reply = self._route(request)
        return Reply(reply.status, {**reply.headers, **headers}, reply.body)

    def _count(self) -> tuple[bool, dict[str, str]]:
        now = self.monotonic()
        if now - self._window_start >= 60:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        reset = max(1, int(self._window_start + 60 - now + 0.999))
        remaining = max(0, self.limit - self._window_count)
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }
        return self._window_count > self.limit, headers

    def _route(self, request: Request) -> Reply:
        path = request.path
        if request.method == "GET" and path == "/users/me":
            return json_reply(200, {"resource": user_json(ME)})
        if request.method == "GET" and path == "/user_busy_times":
            return self._busy_times(query_of(request))
        if path == "/webhook_subscriptions":
            if request.method == "POST":
                return self._subscribe(json.loads(request.body or b"{}"))
            return self._subscriptions(query_of(request))
        if request.method == "DELETE" and path.startswith("/webhook_subscriptions/"):
            uri = API + path
            with self._lock:
                found = self.subscriptions.pop(uri, None)
            return (
                Reply(204, {})
                if found
                else calendly_error(404, "Resource Not Found", "No such hook")
            )
        return calendly_error(404, "Resource Not Found", "The server could not find the resource.")

    def _busy_times(self, query: dict[str, str]) -> Reply:
        missing = [p for p in ("user", "start_time", "end_time") if not query.get(p)]
        if missing:
            return invalid_parameter(missing[0], "is required")
        start, end = parse(query["start_time"]), parse(query["end_time"])
        if end <= start:
            return invalid_parameter("end_time", "must be after start_time")
        if end - start > timedelta(days=7):
            return invalid_parameter(
                "end_time", "The date range can be no greater than 1 week (7 days)."
            )
        with self._lock:
            self.busy_calls.append((query["user"], start, end))
            items = list(self.busy.get(query["user"], []))
        overlapping = [
            item
            for item in items
            if parse(item.get("buffered_start_time", item["start_time"])) < end
            and parse(item.get("buffered_end_time", item["end_time"])) > start
        ]
        overlapping.sort(key=lambda item: item["start_time"])
        return json_reply(200, {"collection": overlapping})

    def _subscribe(self, body: dict[str, Any]) -> Reply:
        for name in ("url", "events", "organization", "scope"):
            if not body.get(name):
                return invalid_parameter(name, "is required")
        if body["scope"] == "user" and not body.get("user"):
            return invalid_parameter("user", "is required when scope is user")
        with self._lock:
            if any(s.callback_url == body["url"] for s in self.subscriptions.values()):
                return calendly_error(409, "Already Exists", "Hook with this url already exists")
            uri = f"{API}/webhook_subscriptions/WH{next(self._ids):014d}"
            made = Subscription(
                uri,
                body["url"],
                list(body["events"]),
                body["scope"],
                body["organization"],
                body.get("user"),
                body.get("signing_key"),
            )
            self.subscriptions[uri] = made
        return json_reply(201, {"resource": subscription_json(made)})

    def _subscriptions(self, query: dict[str, str]) -> Reply:
        with self._lock:
            found = [
                subscription_json(s)
                for s in self.subscriptions.values()
                if s.organization == query.get("organization") and s.scope == query.get("scope")
            ]
        return json_reply(200, {"collection": found, "pagination": {"next_page": None}})
