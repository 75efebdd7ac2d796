"""What the HTTP API tests share: a booking's request body, an availability question, tight
rate limits, a client to an app in process, the checks on a problem+json refusal, and the
headers of each kind of caller (a bearer token, the admin, an API client, a patient's emailed
sign-in link).

The clock the suite uses stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app

ALT = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20}
WED_10 = "2026-11-25T10:00:00-06:00"
# Doctor 1's 20-minute slots on Wednesday 25 November: the question the cache tests repeat.
DOCTOR1_AVAILABILITY = (
    "/v1/availability?service=alternative_medicine&visit_type=initial&duration=20"
    "&practitioner=doctor1&start=2026-11-25&end=2026-11-25"
)
# Rate limits a test meets within a few requests.
TIGHT = {
    "anonymous": {"read": "3/minute", "write": "2/minute", "auth": "2/minute"},
    "standard": {"read": "2/minute"},
    "partner": {"read": "5/minute"},
}


def person(n: int = 1) -> dict[str, str]:
    return {
        "first_name": f"Pat{n}",
        "last_name": "Example",
        "email": f"pat{n}@example.com",
        "phone": f"+1512555{n:04d}",
    }


def booking(start: str = WED_10, n: int = 1, **over: Any) -> dict[str, Any]:
    return {**ALT, "start": start, "practitioner": "doctor1", "patient": person(n), **over}


async def book(client: httpx.AsyncClient, **over: Any) -> dict[str, Any]:
    """A booking made over the API (`over`: the body's changes); its answer."""
    resp = await client.post("/v1/bookings", json=booking(**over))
    assert resp.status_code == 201, resp.text
    made: dict[str, Any] = resp.json()
    return made


@asynccontextmanager
async def app_over(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client to a new app over `container`."""
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
        yield http


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["detail"]
    return body


def refused(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A problem+json refusal; a 401 also says how to authenticate (RFC 9110 §11.6.1)."""
    body = assert_problem(resp, status, code)
    if status == 401:
        challenge = resp.headers.get("www-authenticate", "")
        assert challenge.startswith("Bearer"), challenge
        if code == "invalid_token":
            assert 'error="invalid_token"' in challenge
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def client_headers(container: Container, scopes: list[str]) -> dict[str, str]:
    """A new API client with these scopes, its key sent as a bearer token."""
    _, key = await container.identity.apikeys.create("integration", "qa", scopes)
    return bearer(key)


def mailbox(container: Container) -> list[Path]:
    return sorted((container.settings.data_dir / "mailbox").glob("*.eml"))


def link_token(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    found = re.search(r"/sign-in\?token=(cfl_[A-Za-z0-9_-]+)", part.get_content())
    assert found, "no sign-in link in the message"
    return found.group(1)


async def request_link(client: httpx.AsyncClient, container: Container, address: str) -> str:
    """The token of the sign-in link a patient asks for at `address` (the embedded mailbox)."""
    before = set(mailbox(container))
    resp = await client.post("/v1/auth/patient-link", json={"email": address})
    assert resp.status_code == 202, resp.text
    (new,) = set(mailbox(container)) - before
    return link_token(new)
