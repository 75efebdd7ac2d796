"""A fake HubSpot CRM v3 on loopback: `POST /crm/v3/objects/contacts/batch/upsert` with a
private app's Bearer token, each input keyed by `idProperty: "email"`; properties HubSpot
does not have are refused (400 VALIDATION_ERROR, as HubSpot does), and every property name
received is kept so tests can see what left clinicflow. `answers`/`failing`: an outage."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from support.fake_http import Reply, Request, json_reply
from support.fake_vendor import FakeVendor

TOKEN = "pat-na1-hubspot-token-for-tests"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
# A few of HubSpot's default contact properties: enough that a clinical one stands out.
KNOWN_PROPERTIES = frozenset(
    {
        "email",
        "firstname",
        "lastname",
        "phone",
        "mobilephone",
        "city",
        "state",
        "zip",
        "lifecyclestage",
        "hs_lead_status",
        "company",
        "website",
        "jobtitle",
        "date_of_birth",
    }
)


def error(status: int, category: str, message: str) -> Reply:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    return json_reply(status, body)


class FakeHubSpot(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, Any]] = {}  # by email
        self.properties_seen: set[str] = set()
        self.upserts = 0
        self.bodies: list[bytes] = []  # every request body, as received

    def _handle(self, request: Request) -> Reply:
        with self._lock:
            self.bodies.append(request.body)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        forced = self._forced()
        if forced is not None:
            return error(forced, "RATE_LIMITS" if forced == 429 else "INTERNAL_ERROR", "try later")
        if request.method != "POST" or request.path != UPSERT:
            return error(404, "OBJECT_NOT_FOUND", "no such endpoint")
        inputs = json.loads(request.body).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return error(400, "VALIDATION_ERROR", "inputs is required")
        results = []
        with self._lock:
            for item in inputs:
                properties = item.get("properties") or {}
                self.properties_seen |= set(properties)
                unknown = sorted(set(properties) - KNOWN_PROPERTIES)
                if item.get("idProperty") != "email" or unknown:
                    return error(
                        400, "VALIDATION_ERROR", f"Property values were not valid: {unknown}"
                    )
                email = str(item["id"]).lower()
                now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                existing = self.contacts.get(email)
                contact = existing or {
                    "id": str(len(self.contacts) + 1),
                    "createdAt": now,
                    "properties": {},
                }
                contact["properties"] = {**contact["properties"], **properties}
                contact["updatedAt"] = now
                self.contacts[email] = contact
                self.upserts += 1
                results.append({**contact, "archived": False, "new": existing is None})
        return json_reply(
            200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        )
