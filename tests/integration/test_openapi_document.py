"""The OpenAPI description as a client generator reads it: distinct schema names, a readable
operation id and a summary per operation, and each route's errors documented as the
problem+json they are, with the codes the route really answers. And /docs, the reference page
over it, served from local files only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from clinicflow.infra.error_responses import PROBLEM
from clinicflow.payments.checkout.schemas import CheckoutIn

ALT = {"service": "alternative_medicine", "visit_type": "initial", "duration": 20}
WED_10 = "2026-11-25T10:00:00-06:00"


def person(n: int) -> dict[str, str]:
    return {"first_name": f"Pat{n}", "last_name": "Example", "email": f"pat{n}@example.com"}


@pytest.fixture
async def schema(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def described(schema: dict[str, Any], method: str, path: str, status: int) -> str:
    response = schema["paths"][path][method.lower()]["responses"][str(status)]
    assert PROBLEM in response["content"], f"{method} {path} {status} is not problem+json"
    return str(response["description"])


async def test_no_schema_is_named_for_a_module_path(schema: dict[str, Any]) -> None:
    names = list(schema["components"]["schemas"])
    assert [n for n in names if "__" in n or "clinicflow" in n] == []
    # Every reference points at a schema that exists.
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(schema).replace("'", '"')))
    assert refs <= set(names)


async def test_every_operation_has_a_readable_unique_id_and_a_summary(
    schema: dict[str, Any],
) -> None:
    found = operations(schema)
    assert len(found) > 60
    ids = [operation["operationId"] for _, _, operation in found]
    assert len(ids) == len(set(ids)), "operation ids repeat"
    for method, path, operation in found:
        assert re.fullmatch(r"[a-z][a-zA-Z]+", operation["operationId"]), (method, path)
        summary = operation.get("summary", "")
        assert summary, f"{method} {path} has no summary"
        # Not FastAPI's fallback (the function's name, title-cased): written for a reader.
        assert summary != operation["operationId"].title(), (method, path, summary)
    by_route = {(m, p): o["operationId"] for m, p, o in found}
    assert by_route["POST", "/v1/bookings"] == "createBooking"
    assert by_route["GET", "/v1/availability"] == "listAvailability"
    assert by_route["POST", "/v1/waitlist"] == "joinWaitlist"
    assert by_route["POST", "/v1/payments"] == "createPayment"


async def test_every_operation_documents_its_errors_as_problem_details(
    schema: dict[str, Any],
) -> None:
    assert "Problem" in schema["components"]["schemas"]
    for method, path, operation in operations(schema):
        statuses = [s for s in operation["responses"] if s != "default"]
        errors = [s for s in statuses if s.startswith(("4", "5"))]
        assert any(s.startswith("4") for s in errors), f"{method} {path} documents no 4xx"
        for status in [*errors, "default"]:
            content = operation["responses"][status]["content"]
            assert list(content) == [PROBLEM], (method, path, status)
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert operation["responses"]["default"]


async def test_routes_document_the_errors_their_use_cases_raise(schema: dict[str, Any]) -> None:
    booking = ("POST", "/v1/bookings")
    assert "`slot_unavailable`" in described(schema, *booking, 409)
    assert "`hold_expired`" in described(schema, *booking, 409)
    assert "`validation_error`" in described(schema, *booking, 422)
    assert "`too_little_notice`" in described(schema, *booking, 422)
    assert "`payload_too_large`" in described(schema, *booking, 413)
    assert "`rate_limited`" in described(schema, *booking, 429)
    # A staff route: anonymous callers are asked to sign in, other roles refused.
    read = ("GET", "/v1/patients/{patient_id}")
    assert "`authentication_required`" in described(schema, *read, 401)
    assert "`forbidden`" in described(schema, *read, 403)
    assert "`patient_not_found`" in described(schema, *read, 404)
    # A public route asks no one to sign in (a bad credential sent is still refused).
    services = schema["paths"]["/v1/services"]["get"]["responses"]
    assert "`authentication_required`" not in services["401"]["description"]
    assert "`invalid_token`" in services["401"]["description"]
    # Sign-in routes check no credential a caller already holds: no 401 for one.
    assert "401" not in schema["paths"]["/v1/auth/patient-link"]["post"]["responses"]
    assert "`service_not_ready`" in described(schema, "POST", "/v1/services/{key}/launch", 422)
    assert "`payment_gateway_unavailable`" in described(schema, "POST", "/v1/payments", 503)
    assert "`not_ready`" in described(schema, "GET", "/readyz", 503)


async def test_errors_answered_are_the_ones_documented(
    client: httpx.AsyncClient, schema: dict[str, Any]
) -> None:
    """Real refusals, each found (status and code) in its operation's description."""
    body = {**ALT, "start": WED_10, "practitioner": "doctor1", "patient": person(1)}
    assert (await client.post("/v1/bookings", json=body)).status_code == 201
    calls = [
        ("POST", "/v1/bookings", "/v1/bookings", {"json": {**body, "patient": person(2)}}),
        ("POST", "/v1/bookings", "/v1/bookings", {"json": {**ALT, "start": "soon"}}),
        ("GET", "/v1/bookings/{booking_id}", "/v1/bookings/nope", {}),
        ("GET", "/v1/patients/{patient_id}", "/v1/patients/nope", {}),
        ("GET", "/v1/availability", "/v1/availability", {"params": {**ALT, "service": "x"}}),
        ("GET", "/v1/services", "/v1/services", {"headers": {"Authorization": "Bearer x"}}),
        ("POST", "/v1/holds", "/v1/holds", {"content": b"{}", "headers": {"Content-Type": "a/b"}}),
    ]
    seen = set()
    for method, path, url, options in calls:
        answer = await client.request(method, url, **options)
        assert answer.status_code >= 400, (url, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        code = answer.json()["code"]
        seen.add((answer.status_code, code))
        assert f"`{code}`" in described(schema, method, path, answer.status_code), (url, code)
    assert {s for s, _ in seen} >= {401, 409, 415, 422}


async def test_request_examples_are_requests_the_app_takes(
    client: httpx.AsyncClient, schema: dict[str, Any]
) -> None:
    """The examples shown on the main bodies work as they are (on the test clinic's day)."""
    components = schema["components"]["schemas"]
    examples = {
        name: components[name]["examples"]
        for name in ("HoldIn", "BookingIn", "JoinIn", "CheckoutIn")
    }
    assert all(examples.values()), examples
    hold = await client.post("/v1/holds", json=examples["HoldIn"][0])
    assert hold.status_code == 201, hold.text
    confirm = {**examples["BookingIn"][1], "hold_id": hold.json()["id"]}
    booked = await client.post("/v1/bookings", json=confirm)
    assert booked.status_code == 201, booked.text
    assert booked.json()["id"] == hold.json()["id"]
    later = {**examples["BookingIn"][0], "start": "2026-11-25T11:00:00-06:00"}
    assert (await client.post("/v1/bookings", json=later)).status_code == 201
    joined = await client.post("/v1/waitlist", json=examples["JoinIn"][0])
    assert joined.status_code == 201, joined.text
    for body in examples["CheckoutIn"]:
        CheckoutIn.model_validate(body)


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._in_script = True
            if found.get("src"):
                self.urls.append(str(found["src"]))
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))
        if "style" in found or any(name.startswith("on") for name in found):
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


async def test_docs_page_loads_only_local_files(client: httpx.AsyncClient) -> None:
    # A stale credential (a 401 on API routes) does not hide the page.
    page = await client.get("/docs", headers={"Authorization": "Bearer expired"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    assets = _Assets()
    assets.feed(page.text)
    assert assets.inline_scripts == 0  # the policy would block them
    assert not re.search(r"https?://", page.text)
    assert len(assets.urls) == 3  # the stylesheet, Swagger UI, and the script starting it
    kinds = {"css": "text/css", "js": "javascript"}
    for url in assets.urls:
        assert url.startswith("/docs/static/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert kinds[url.rsplit(".", 1)[1]] in asset.headers["content-type"]
    starter = (await client.get("/docs/static/docs.js")).text
    assert '"/openapi.json"' in starter
    assert "validatorUrl: null" in starter
    versions = await client.get("/docs/static/VERSIONS")
    assert "swagger-ui-dist@" in versions.text
    assert "Apache-2.0" in versions.text


async def test_docs_page_is_not_an_operation(schema: dict[str, Any]) -> None:
    assert not [path for path in schema["paths"] if path.startswith("/docs")]
