"""Input the database or the calendar cannot take is refused with a 422 naming the field,
never a 500; and an error nobody expected is logged by its type and request id only.

PostgreSQL is where a NUL character fails (SQLite stores it), so these run on PostgreSQL.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import text

from clinicflow.bootstrap import Container
from clinicflow.flags.api import router as flags_router
from clinicflow.gateway.app import ROUTERS
from clinicflow.infra.request_input import RequestModel
from support.api import assert_problem
from support.app import admin_session, serving
from support.db import written
from support.loopback_tls import loopback_tls

NUL = "\u0000"
SURROGATE = "\ud800"
AVAILABILITY = "/v1/availability?service=alternative_medicine&visit_type=initial&duration=15"
HOLD = {"service": "alternative_medicine", "visit_type": "initial", "duration": 15}
JOIN = {
    "service": "weight_loss",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "zip": "60601",
    "interest_level": "high",
}


pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: a fresh copy of the migrated template (support/suite_fixtures.py)."""
    return pg_database_url


def raw_json(body: dict[str, Any], field: str, value: str) -> bytes:
    """JSON with `value` in `field`, escaped as JSON allows (\\u0000, a lone \\ud800)."""
    return json.dumps({**body, field: value}).encode()


def assert_refused(resp: httpx.Response, field: str, says: str) -> None:
    problem = assert_problem(resp, 422, "validation_error")
    assert field in [e["field"] for e in problem["errors"]], problem
    assert says in problem["detail"]


BODIES = [
    ("/v1/auth/login", {"username": "desk", "password": "x"}, "username"),
    ("/v1/auth/login", {"username": "desk", "password": "x"}, "password"),
    ("/v1/waitlist", JOIN, "first_name"),
    ("/v1/waitlist", JOIN, "email"),
    ("/v1/bookings", {**HOLD, "start": "2026-11-25T10:00:00-06:00"}, "practitioner"),
]


@pytest.mark.parametrize(("char", "says"), [(NUL, "NUL character"), (SURROGATE, "surrogate")])
async def test_unstorable_text_in_a_json_body_is_refused_naming_the_field(
    client: httpx.AsyncClient, char: str, says: str
) -> None:
    for path, body, field in BODIES:
        sent = raw_json(body, field, f"a{char}b")
        resp = await client.post(path, content=sent, headers={"Content-Type": "application/json"})
        assert_refused(resp, field, says)


async def test_a_nul_in_a_form_field_is_refused(client: httpx.AsyncClient) -> None:
    form = {"grant_type": "client_credentials", "client_id": f"cf_{NUL}", "client_secret": "x"}
    assert_refused(await client.post("/v1/oauth/token", data=form), "client_id", "NUL")


async def test_a_nul_in_a_query_parameter_or_the_path_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    admin = await admin_session(container)
    assert_refused(
        await client.get(f"{AVAILABILITY}&practitioner=doc%00tor1"), "practitioner", "NUL"
    )
    listed = await client.get("/v1/bookings?practitioner=%00", headers=admin)
    assert_refused(listed, "practitioner", "NUL")
    assert_refused(await client.get("/v1/bookings/abc%00def", headers=admin), "path", "NUL")
    assert_refused(await client.delete("/v1/waitlist/e%00", headers=admin), "path", "NUL")
    # A surrogate cannot come through a URL: its UTF-8 escape is invalid and decodes to
    # U+FFFD, which is stored like any other character.
    odd = await client.get(f"{AVAILABILITY}&practitioner=doc%ED%A0%80")
    assert odd.status_code < 500


@pytest.mark.parametrize("year", ["0001", "9999"])
async def test_dates_outside_the_sane_range_are_refused_saying_the_range(
    client: httpx.AsyncClient, container: Container, year: str
) -> None:
    admin = await admin_session(container)
    day = f"{year}-06-01"
    says = "between the years 1900 and 2200"
    assert_refused(await client.get(f"{AVAILABILITY}&start={day}"), "start", says)
    assert_refused(await client.get(f"{AVAILABILITY}&end={day}T10:00:00"), "end", says)
    assert_refused(await client.get(f"/v1/bookings?from={day}", headers=admin), "from", says)
    assert_refused(await client.get(f"/v1/bookings?to={day}", headers=admin), "to", says)
    hold = await client.post("/v1/holds", json={**HOLD, "start": f"{day}T10:00:00+00:00"})
    assert_refused(hold, "start", says)
    revenue = f"/v1/payments/revenue?from=2026-01-01&to={day}"
    assert_refused(await client.get(revenue, headers=admin), "to", says)


async def test_a_range_longer_than_the_documented_maximum_is_refused(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get(f"{AVAILABILITY}&start=2026-01-01&end=2026-12-31")
    problem = assert_problem(resp, 422, "range_too_long")
    assert "at most 92 days" in problem["detail"]


async def test_an_unexpected_error_is_logged_by_type_and_request_id_only(
    container: Container, log_stream: io.StringIO
) -> None:
    """The database loses a table under the app: the driver's error quotes the statement and
    its parameters (the username), none of which may reach the log."""
    async with written(container.db) as uow:
        conn = uow.connection
        await conn.execute(text("ALTER TABLE identity_user RENAME TO identity_user_gone"))
    secret_name = "ada.lovelace@example.com"
    async with (
        serving(container) as base,
        httpx.AsyncClient(verify=loopback_tls(), base_url=base) as http,
    ):
        resp = await http.post(
            "/v1/auth/login",
            json={"username": secret_name, "password": "pw"},
            headers={"X-Request-ID": "forced-error-1"},
        )
    assert_problem(resp, 500, "internal_error")
    assert resp.headers["x-request-id"] == "forced-error-1"
    logged = log_stream.getvalue()
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] in ("error", "critical")]
    assert len(errors) == 1, errors
    [error] = errors
    assert error["event"] == "unhandled_error"
    assert error["error"] == "ProgrammingError"
    assert error["request_id"] == "forced-error-1"
    own = {"event", "error", "request_id", "level", "logger", "timestamp", "trace_id", "span_id"}
    assert set(error) <= own
    for leak in (secret_name, "ada.lovelace", "identity_user", "SELECT", "Traceback"):
        assert leak not in logged


def test_every_request_body_derives_from_the_shared_request_model() -> None:
    """So no new body model forgets the check. (Form fields are checked at the edge.)"""
    routers = [flags_router, *(r for group in ROUTERS.values() for r in group)]
    models = []
    for route in (route for router in routers for route in router.routes):
        for param in getattr(getattr(route, "dependant", None), "body_params", ()):
            annotation = param.field_info.annotation
            models += [t for t in getattr(annotation, "__args__", (annotation,)) if t is not None]
    shaped = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel)]
    assert len(shaped) > 20
    assert [m for m in shaped if not issubclass(m, RequestModel)] == []
