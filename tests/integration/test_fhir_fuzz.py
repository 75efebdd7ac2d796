"""A FHIR-aware fuzz test: every interaction the CapabilityStatement declares (searches with
their parameters, reads, `$find`, `$hold`, `$book`, PUT and PATCH), with values hypothesis
makes up (dates with and without prefixes, references, junk, malformed and half-valid
bodies), anonymously and with a SMART token holding every scope, against the app served by
a real uvicorn: no answer is a server error, and every error is an OperationOutcome.

(schemathesis fuzzes the OpenAPI description; the FHIR API is described by its
CapabilityStatement instead, so this test reads that.)
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicflow.bootstrap import Container
from support.app import clinic_settings
from support.fhir import ALL_SCOPES, FHIR, TOKEN, SigningKey, SmartClient
from support.loopback_tls import loopback_tls
from support.migrated import migrated
from support.threaded_app import served_in_thread

# One worker runs the module: one server (`fhir_api`) for all of its tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fhir_fuzz")]
EXAMPLES = int(os.environ.get("FHIR_FUZZ_EXAMPLES", "60"))  # per test


@dataclass(frozen=True)
class Served:
    base_url: str
    smart: dict[str, str]
    statement: dict[str, Any]


@pytest.fixture(scope="module")
def fhir_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app on a migrated SQLite file, served in a thread with its own event loop."""
    data = tmp_path_factory.mktemp("fhir-fuzz")
    url = f"sqlite+aiosqlite:///{data / 'clinic.sqlite3'}"
    asyncio.run(migrated(url))
    config = clinic_settings(
        url,
        data,
        rate_limits_enabled=False,  # thousands of requests from one address, on purpose
    )
    key, registered = SigningKey("ES384"), []

    async def register(container: Container) -> None:
        client = await container.smart.clients.add(
            "fuzzer", ALL_SCOPES, jwks_url=None, jwks=key.jwks()
        )
        registered.append(SmartClient(client.id, key, container.smart.tokens.token_url))

    with (
        served_in_thread(config, register) as base,
        httpx.Client(verify=loopback_tls(), base_url=base) as http,
    ):
        smart = registered[0]
        form = smart.form(smart.assertion(datetime.now(UTC)))
        token = http.post(TOKEN, data=form).json()["access_token"]
        statement = http.get(f"{FHIR}/metadata").json()
        yield Served(base, {"Authorization": f"Bearer {token}"}, statement)


def _check(resp: httpx.Response) -> None:
    where = f"{resp.request.method} {resp.request.url}"
    assert resp.status_code < 500, f"{where}: {resp.status_code} {resp.text[:300]}"
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/fhir+json"), where
        assert resp.json()["resourceType"] == "OperationOutcome", where


_junk = st.text(max_size=30)
_dates = st.builds(
    lambda prefix, day: f"{prefix}{day}",
    st.sampled_from(["", "ge", "gt", "le", "lt", "eq", "sa", "eb", "xx"]),
    st.one_of(
        st.dates().map(str),
        st.datetimes().map(lambda d: d.isoformat()),
        st.just("2026-11-25T10:00:00Z"),
        _junk,
    ),
)
_refs = st.builds(
    lambda kind, ident: f"{kind}/{ident}",
    st.sampled_from(["Practitioner", "Patient", "Schedule", "Slot", "Nope"]),
    st.one_of(st.sampled_from(["doctor1", "doctor1.alternative-medicine", "nurse"]), _junk),
)
_values = st.one_of(_junk, _dates, _refs, st.integers(-5, 10_000).map(str))
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_appointment = st.fixed_dictionaries(
    {"resourceType": st.just("Appointment")},
    optional={
        "id": _junk,
        "status": st.sampled_from(["proposed", "cancelled", "booked", "x"]),
        "start": _dates,
        "minutesDuration": st.one_of(st.integers(-10, 2000), _junk),
        "serviceType": st.just([{"coding": [{"code": "alternative_medicine"}]}]),
        "appointmentType": st.just({"coding": [{"code": "initial"}]}),
        "slot": st.lists(st.fixed_dictionaries({"reference": _refs}), max_size=2),
        "participant": st.lists(
            st.fixed_dictionaries({"actor": st.fixed_dictionaries({"reference": _refs})}),
            max_size=2,
        ),
        "cancelationReason": _json,
    },
)
_parameters = st.builds(
    lambda parts: {"resourceType": "Parameters", "parameter": parts},
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"name": st.just("appointment"), "resource": _appointment}),
            st.fixed_dictionaries({"name": st.sampled_from(["patient", "x"]), "resource": _json}),
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["start", "end", "service-type", "practitioner"]),
                    "valueString": _values,
                }
            ),
        ),
        max_size=4,
    ),
)
_bodies = st.one_of(_parameters, _appointment, _json)


def _searches(statement: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [
        (r["type"], [p["name"] for p in r["searchParam"]]) for r in statement["rest"][0]["resource"]
    ]


@given(data=st.data(), as_client=st.booleans())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_searches_and_reads_never_fail_on_our_side(
    fhir_api: Served, data: st.DataObject, as_client: bool
) -> None:
    kind, names = data.draw(st.sampled_from(_searches(fhir_api.statement)))
    params = data.draw(
        st.lists(st.tuples(st.sampled_from([*names, "_offset", "bogus"]), _values), max_size=4)
    )
    ident = data.draw(st.one_of(_junk, st.sampled_from(["doctor1", "alternative-medicine"])))
    headers = fhir_api.smart if as_client else {}
    with httpx.Client(
        verify=loopback_tls(), base_url=fhir_api.base_url, timeout=30, headers=headers
    ) as http:
        _check(http.get(f"{FHIR}/{kind}", params=params))
        _check(http.get(f"{FHIR}/{kind}/{quote(ident, safe='')}"))


@given(
    operation=st.sampled_from(["$find", "$hold", "$book"]),
    body=_bodies,
    content_type=st.sampled_from(["application/fhir+json", "application/json", "text/plain"]),
    as_client=st.booleans(),
)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operations_never_fail_on_our_side(
    fhir_api: Served, operation: str, body: Any, content_type: str, as_client: bool
) -> None:
    headers = {"Content-Type": content_type, **(fhir_api.smart if as_client else {})}
    with httpx.Client(verify=loopback_tls(), base_url=fhir_api.base_url, timeout=30) as http:
        url = f"{FHIR}/Appointment/{operation}"
        _check(http.post(url, content=json.dumps(body).encode(), headers=headers))


@given(
    method=st.sampled_from(["PUT", "PATCH"]),
    ident=st.one_of(_junk, st.uuids().map(str)),
    body=st.one_of(_bodies, st.lists(_json, max_size=3)),
    as_client=st.booleans(),
)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_updates_never_fail_on_our_side(
    fhir_api: Served, method: str, ident: str, body: Any, as_client: bool
) -> None:
    content_type = "application/json-patch+json" if method == "PATCH" else "application/fhir+json"
    headers = {"Content-Type": content_type, **(fhir_api.smart if as_client else {})}
    with httpx.Client(verify=loopback_tls(), base_url=fhir_api.base_url, timeout=30) as http:
        url = f"{FHIR}/Appointment/{quote(ident, safe='')}"
        _check(http.request(method, url, content=json.dumps(body).encode(), headers=headers))
