"""Microsoft Graph's wire details, as the fake (fake_graph.py) speaks them: the app's
registration (tenant, client id and secret), the limits Graph enforces, and its error body."""

from __future__ import annotations

import uuid
from datetime import timedelta

from support.fake_http import Reply, json_reply

TENANT = "contoso-tenant-id"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "fake-graph-client-secret"
MAX_CONCURRENT = 4
MAX_SUBSCRIPTION = timedelta(minutes=4230)


def graph_error(status: int, code: str, message: str, **headers: str) -> Reply:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": "2026-01-01T00:00:00", "request-id": str(uuid.uuid4())},
        }
    }
    return json_reply(status, body, headers)
