"""An integer a request gives for an id or an offset is bounded by what an INTEGER column holds
on both databases (2**31 - 1, PostgreSQL's): one past it is a 422 that names the field, not a
driver's overflow answered 500. Found by the OpenAPI fuzz test (`GET /v1/audit?before_id=
10253093456638601216` answered 500 on PostgreSQL; so did any id past 2**31 - 1)."""

from __future__ import annotations

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.infra.request_input import LARGEST_STORED_INT
from support.api import assert_problem
from support.app import admin_session

pytestmark = pytest.mark.both_databases

PAGES = [("/v1/audit", "before_id"), ("/v1/waitlist", "offset")]


@pytest.mark.parametrize(("path", "field"), PAGES)
async def test_one_past_the_largest_stored_integer_is_refused_naming_the_field(
    client: httpx.AsyncClient, container: Container, path: str, field: str
) -> None:
    admin = await admin_session(container)
    past = await client.get(path, params={field: LARGEST_STORED_INT + 1}, headers=admin)
    problem = assert_problem(past, 422, "validation_error")
    assert field in str(problem["errors"])
    largest = await client.get(path, params={field: LARGEST_STORED_INT}, headers=admin)
    assert largest.status_code == 200, largest.text
