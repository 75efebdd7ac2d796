"""Every operation in the OpenAPI description, fuzzed by schemathesis against the app served
by a real uvicorn on PostgreSQL, anonymously and as a signed-in administrator: no answer is a
server error, every answer matches the schema documented for its status, and every error
answered is listed, status and code, in its operation.

Bounded (a few examples per operation, valid and invalid ones) so it runs in every CI build.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode, Response
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.schemas import APIOperation

from clinicflow.bootstrap import Container
from support.app import admin_session, clinic_settings
from support.pg_copies import admin_sql, drop_sql, pg_url
from support.threaded_app import served_in_thread

# One worker runs the module: its one pass (`fuzzed`) answers both tests.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("openapi_fuzz")]
EXAMPLES = 2  # per operation and generation mode


def error_documented(ctx: object, response: Response, case: Case) -> bool | None:
    """An error answer's status is one its operation lists (not only `default`), and the
    description there names the problem's `code`: the document tells each route's errors."""
    if response.status_code < 400 or response.status_code >= 500:
        return None
    documented = case.operation.definition.raw["responses"].get(str(response.status_code))
    code = response.json().get("code")
    label = f"{case.operation.label} answered {response.status_code} `{code}`"
    assert documented is not None, f"{label}: the status is not documented"
    assert f"`{code}`" in documented["description"], f"{label}: the code is not documented"
    return None


CHECKS = [not_a_server_error, response_schema_conformance, error_documented]


@dataclass(frozen=True)
class Served:
    base_url: str
    admin: dict[str, str]


@pytest.fixture(scope="module")
def api(pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app on a fresh PostgreSQL database, served in a thread with its own event loop
    (schemathesis calls it synchronously, over real HTTP)."""
    name = f"clinicflow_fuzz_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    data = tmp_path_factory.mktemp("fuzz")
    config = clinic_settings(
        pg_url(name),
        data,
        rate_limits_enabled=False,  # thousands of requests from one address, on purpose
    )
    admin: dict[str, str] = {}

    async def sign_in(container: Container) -> None:
        admin.update(await admin_session(container, "fuzz-admin"))

    try:
        with served_in_thread(config, sign_in) as base_url:
            yield Served(base_url, admin)
    finally:
        asyncio.run(admin_sql(drop_sql(name)))


CALLERS = ("anonymous", "administrator")


def _each_case_for_each_caller(
    api: Served,
    session: requests.Session,
    operation: APIOperation,
    mode: GenerationMode,
    failed: dict[str, str],
) -> Callable[[], None]:
    """Hypothesis' run over `operation`'s cases in `mode`: each case sent as each caller;
    a caller's first failure on the operation kept in `failed`."""
    headers = {"anonymous": {}, "administrator": api.admin}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        for caller in CALLERS:
            if caller in failed:
                continue
            response = case.call(base_url=api.base_url, session=session, headers=headers[caller])
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # each caller's, all reported
                failed[caller] = f"{operation.label} [{mode.value}]: {exc}"[:2000]

    return run


@pytest.fixture(scope="module")
def fuzzed(api: Served) -> dict[str, list[str]]:
    """Every operation, each case it generates sent twice, anonymously and as the
    administrator; what failed for each caller, one line each. One pass for both callers:
    making each operation's strategies is most of what a pass costs."""
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    session = requests.Session()
    failures: dict[str, list[str]] = {caller: [] for caller in CALLERS}
    for result in schema.get_all_operations():
        operation = result.ok()
        # Invalid input needs something to be invalid: a body or a query parameter (any
        # string is a valid path segment).
        negatable = any(p.location in ("query", "body") for p in operation.iter_parameters())
        negatable = negatable or bool(operation.get_request_payload_content_types())
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negatable else [])
        for mode in modes:
            failed: dict[str, str] = {}
            try:
                _each_case_for_each_caller(api, session, operation, mode, failed)()
            except Unsatisfiable:
                continue  # nothing of this kind to generate (e.g. an enum with every value)
            for caller, line in failed.items():
                failures[caller].append(line)
    return failures


def test_anonymous_callers_meet_no_server_error_and_only_documented_answers(
    fuzzed: dict[str, list[str]],
) -> None:
    assert fuzzed["anonymous"] == [], "\n\n".join(fuzzed["anonymous"])


def test_an_administrator_meets_no_server_error_and_only_documented_answers(
    fuzzed: dict[str, list[str]],
) -> None:
    assert fuzzed["administrator"] == [], "\n\n".join(fuzzed["administrator"])
