"""The fake Microsoft Graph's subscriptions (mixed into FakeGraph, fake_graph.py): `POST` runs
the validation handshake against the notificationUrl first (plain-text echo within 10 s) and
caps the expiry at 4,230 minutes; `GET`, `PATCH`, `DELETE`; `notify()` posts a change
notification as Graph does."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from support.fake_graph_calendar import parse_instant
from support.fake_graph_wire import CLIENT_ID, MAX_SUBSCRIPTION, graph_error
from support.fake_http import Reply, Request, json_reply


class GraphSubscriptions:
    """Graph's /subscriptions routes and its change notifications, over the state FakeGraph
    keeps: the subscriptions, the handshake statuses clinicflow answered, its clock and lock."""

    now: datetime
    subscriptions: dict[str, dict[str, Any]]
    handshakes: list[int]
    _lock: threading.RLock

    def _subscriptions(self, request: Request, path: str) -> Reply:
        sub_id = path.removeprefix("/subscriptions").strip("/")
        if request.method == "GET" and not sub_id:
            with self._lock:
                return json_reply(200, {"value": list(self.subscriptions.values())})
        if request.method == "POST" and not sub_id:
            return self._subscribe(json.loads(request.body))
        with self._lock:
            found = self.subscriptions.get(sub_id)
            if found is None:
                return graph_error(404, "ResourceNotFound", "The object was not found.")
            if request.method == "DELETE":
                del self.subscriptions[sub_id]
                return Reply(204, {})
            if request.method == "PATCH":
                expires = json.loads(request.body)["expirationDateTime"]
                refusal = self._expiry_refused(expires)
                if refusal is not None:
                    return refusal
                found["expirationDateTime"] = expires
                return json_reply(200, found)
        return graph_error(405, "BadRequest", "Unsupported method")

    def _subscribe(self, body: dict[str, Any]) -> Reply:
        if set(str(body.get("changeType", "")).split(",")) - {"created", "updated", "deleted"}:
            return graph_error(400, "ExtensionError", "changeType")
        if not re.fullmatch(r"/?users/[^/]+/events", str(body.get("resource", "")), re.I):
            return graph_error(400, "ExtensionError", "resource")
        if len(str(body.get("clientState", ""))) > 128:
            return graph_error(400, "ExtensionError", "clientState is longer than 128")
        refusal = self._expiry_refused(str(body.get("expirationDateTime", "")))
        if refusal is not None:
            return refusal
        for url in {body["notificationUrl"], body.get("lifecycleNotificationUrl")} - {None}:
            if not self._validated(str(url)):
                return graph_error(
                    400,
                    "ValidationError",
                    "Subscription validation request failed. Response must exactly match "
                    "validationToken query parameter.",
                )
        subscription = {
            "id": str(uuid.uuid4()),
            "applicationId": CLIENT_ID,
            "creatorId": str(uuid.uuid4()),
            "latestSupportedTlsVersion": body.get("latestSupportedTlsVersion", "v1_2"),
        } | {
            k: body.get(k)
            for k in (
                "resource",
                "changeType",
                "notificationUrl",
                "lifecycleNotificationUrl",
                "expirationDateTime",
                "clientState",
            )
        }
        with self._lock:
            self.subscriptions[subscription["id"]] = subscription
        return json_reply(201, subscription)

    def _expiry_refused(self, expires: str) -> Reply | None:
        try:
            at = parse_instant(expires)
        except ValueError:
            return graph_error(400, "ExtensionError", "expirationDateTime is not a date")
        if not self.now < at <= self.now + MAX_SUBSCRIPTION:
            return graph_error(
                400,
                "ExtensionError",
                "Subscription expiration can only be 4230 minutes in the future.",
            )
        return None

    def _validated(self, url: str) -> bool:
        """Graph's handshake: a POST with ?validationToken=…, the token echoed in plain text
        within 10 seconds."""
        token = f"Validation: Testing client application reachability {uuid.uuid4()}"
        target = f"{url}?validationToken={quote(token)}"
        sent = urllib.request.Request(
            target, data=b"", headers={"Content-Type": "text/plain"}, method="POST"
        )
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with direct.open(sent, timeout=10) as answer:
                status, kind, body = answer.status, answer.headers["content-type"], answer.read()
        except urllib.error.HTTPError as exc:
            self.handshakes.append(exc.code)
            return False
        except OSError:
            return False
        self.handshakes.append(status)
        return status == 200 and kind.startswith("text/plain") and body.decode() == token

    def notify(
        self, address: str, change: str, event_id: str, *, client_state: str | None = None
    ) -> int:
        """Graph's change notification for `address`'s subscription (blocking: call it from a
        thread while the app serves). Returns the app's status."""
        with self._lock:
            subscription = next(
                s
                for s in self.subscriptions.values()
                if str(s["resource"]).strip("/").lower() == f"users/{address.lower()}/events"
            )
        resource = f"Users/{uuid.uuid4()}/Events/{event_id}"
        body = {
            "value": [
                {
                    "subscriptionId": subscription["id"],
                    "subscriptionExpirationDateTime": subscription["expirationDateTime"],
                    "changeType": change,
                    "resource": resource,
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.Event",
                        "@odata.id": resource,
                        "@odata.etag": 'W/"DwAAABYAAAA="',
                        "id": event_id,
                    },
                    "clientState": client_state or subscription["clientState"],
                    "tenantId": str(uuid.uuid4()),
                }
            ]
        }
        sent = urllib.request.Request(
            str(subscription["notificationUrl"]),
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with direct.open(sent, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
