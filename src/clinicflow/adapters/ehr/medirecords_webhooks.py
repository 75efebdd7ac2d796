"""MediRecords' webhooks (fhir.medirecords.com/webhooks.html): a JSON POST `{id, timestamp,
event: {hub.topic, hub.event, context: [{key, resource: Bundle}]}}`, retried by MediRecords
for up to 3 days until we answer 2xx.

MediRecords documents no signature (reference/integrations.md §6: webhooks are authorised by
the subscriber's FHIR API_KEY), so the key is expected as `Authorization: Bearer <key>` and
compared in constant time; and the body is only a trigger: which patients changed. The sync
reads each one from MediRecords' API with our own token, so a forged body can change nothing.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from clinicflow.integrations.errors import EhrNoticeRefused
from clinicflow.integrations.ports import EhrNotice
from clinicflow.shared.errors import InvalidRequest

PATIENT_EVENTS = frozenset({"patient.created", "patient.updated"})


class MediRecordsNotices:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def __repr__(self) -> str:
        return "MediRecordsNotices()"

    def read(self, authorization: str | None, body: bytes) -> EhrNotice:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._key):
            raise EhrNoticeRefused("the webhook must carry MediRecords' API key as a Bearer token")
        try:
            payload = json.loads(body)
            notice_id = str(payload["id"])
            event = payload["event"]
            kind = str(event["hub.event"])
            context = event.get("context") or []
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRequest(
                "a MediRecords webhook is {id, timestamp, event: {hub.topic, hub.event, context}}"
            ) from exc
        if not notice_id or len(notice_id) > 100:
            raise InvalidRequest("the webhook's id must be 1 to 100 characters")
        if kind not in PATIENT_EVENTS:
            return EhrNotice(notice_id, ())  # acknowledged: not a change the sync takes
        return EhrNotice(notice_id, tuple(dict.fromkeys(_patients(context))))


def _patients(context: Any) -> list[str]:
    found: list[str] = []
    for item in context if isinstance(context, list) else []:
        resource = item.get("resource") if isinstance(item, dict) else None
        if not isinstance(resource, dict):
            continue
        entries = resource.get("entry") if resource.get("resourceType") == "Bundle" else None
        candidates = [e.get("resource") for e in entries or [] if isinstance(e, dict)]
        for r in [resource, *candidates]:
            if isinstance(r, dict) and r.get("resourceType") == "Patient" and r.get("id"):
                found.append(str(r["id"])[:64])
    return found
