"""A 405 says which methods the path does take (RFC 9110 §15.5.6), in its `Allow` header."""

from __future__ import annotations

import httpx

from clinicflow.gateway.problems import PROBLEM


async def test_a_wrong_method_is_405_naming_every_method_the_path_takes(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.request("DELETE", "/v1/bookings")

    assert resp.status_code == 405
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert resp.json()["code"] == "method_not_allowed"
    # Two routes share the path (the list and the booking): both methods are named.
    assert {m.strip() for m in resp.headers["allow"].split(",")} == {"GET", "POST"}
    assert "GET or POST" in resp.json()["detail"]


async def test_an_operations_endpoint_names_its_one_method(client: httpx.AsyncClient) -> None:
    resp = await client.post("/healthz")

    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET"
