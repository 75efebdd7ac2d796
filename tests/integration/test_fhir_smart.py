"""SMART Backend Services: a client registered with its public key (or its JWKS URL) trades
a signed assertion for an access token at /fhir/auth/token; expired or too-long-lived
assertions, a reused `jti`, a wrong key, `alg: none` and a wrong audience are refused; the
token opens only the FHIR API, only within its scopes, and stops with its client."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.cli import app as cli
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem, refused
from support.cli_runner import migrated_cli, ok
from support.fhir import (
    FHIR,
    TOKEN,
    JwksHost,
    SigningKey,
    SmartClient,
    assert_outcome,
    smart_client,
)

SLOTS = f"{FHIR}/Slot?schedule=Schedule/doctor1.alternative-medicine&start=2026-11-25"


async def token_for(
    http: httpx.AsyncClient, client: SmartClient, assertion: str, scope: str
) -> httpx.Response:
    return await http.post(TOKEN, data=client.form(assertion, scope))


async def test_a_valid_es384_assertion_gets_a_token_that_reads_slots(
    client: httpx.AsyncClient, container: Container
) -> None:
    smart = await smart_client(container, "system/Slot.read system/Appointment.read")
    resp = await token_for(
        client, smart, smart.assertion(container.clock.now()), "system/Slot.read"
    )
    assert resp.status_code == 200, resp.text
    issued = resp.json()
    assert issued["token_type"] == "bearer"
    assert issued["scope"] == "system/Slot.read"
    assert 0 < issued["expires_in"] <= 300
    assert resp.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    slots = await client.get(SLOTS, headers=headers)
    assert slots.status_code == 200, slots.text
    assert slots.json()["total"] > 0
    # Slot.read only: the appointments it did not ask for stay closed.
    assert_outcome(await client.get(f"{FHIR}/Appointment", headers=headers), 403, "forbidden")
    # A SMART token opens the FHIR API and nothing else.
    refused(await client.get("/v1/bookings", headers=headers), 401, "invalid_token")


async def test_an_rs384_client_with_a_jwks_url_gets_a_token_and_its_rotation_is_followed(
    client: httpx.AsyncClient, container: Container
) -> None:
    first = SigningKey("RS384")
    host = JwksHost([first])
    host.server.start()
    try:
        smart = await smart_client(container, "system/Slot.read", key=first, jwks_url=host.url)
        now = container.clock.now()
        ok_first = await token_for(client, smart, smart.assertion(now), "system/Slot.read")
        assert ok_first.status_code == 200, ok_first.text
        rotated = SigningKey("RS384")
        host.keys = [rotated]
        fetched = host.fetches
        assertion = smart.assertion(now, key=rotated)
        ok_rotated = await token_for(client, smart, assertion, "system/Slot.read")
        assert ok_rotated.status_code == 200, ok_rotated.text
        assert host.fetches == fetched + 1  # an unknown kid: its JWKS read once more
    finally:
        host.server.stop()


@pytest.fixture
async def smart(container: Container) -> SmartClient:
    return await smart_client(container, "system/Slot.read")


def _alg_none(smart: SmartClient, container: Container) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(container.clock.now().timestamp())
    claims = {
        "iss": smart.id,
        "sub": smart.id,
        "aud": smart.token_url,
        "exp": now + 120,
        "jti": "unsigned",
    }
    return f"{part({'alg': 'none', 'kid': smart.key.kid})}.{part(claims)}."


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("exp over five minutes", "five minutes"),
        ("expired", "expired"),
        ("wrong key", "Signature"),
        ("alg none", "alg"),
        ("wrong audience", "aud"),
        ("no jti", "MissingRequiredClaim"),
    ],
)
async def test_assertions_that_break_a_rule_are_refused(
    client: httpx.AsyncClient, container: Container, smart: SmartClient, case: str, said: str
) -> None:
    now = container.clock.now()
    impostor = SigningKey("ES384", kid=smart.key.kid)  # same kid, another private key
    assertion = {
        "exp over five minutes": lambda: smart.assertion(now, lifetime=timedelta(minutes=6)),
        "expired": lambda: smart.assertion(now, lifetime=timedelta(seconds=-1)),
        "wrong key": lambda: smart.assertion(now, key=impostor),
        "alg none": lambda: _alg_none(smart, container),
        "wrong audience": lambda: smart.assertion(now, aud="https://elsewhere.example/token"),
        "no jti": lambda: smart.assertion(now, jti=None),
    }[case]()
    resp = await token_for(client, smart, assertion, "system/Slot.read")
    body = assert_problem(resp, 401, "oauth_error")
    assert body["error"] == "invalid_client"
    assert said in body["detail"]
    assert "access_token" not in body


@pytest.mark.both_databases
async def test_one_assertion_sent_ten_times_at_once_gets_one_token(
    client: httpx.AsyncClient, container: Container, smart: SmartClient
) -> None:
    assertion = smart.assertion(container.clock.now())
    answers = await asyncio.gather(
        *(token_for(client, smart, assertion, "system/Slot.read") for _ in range(10))
    )
    assert sorted(r.status_code for r in answers) == [200] + [401] * 9


@pytest.mark.both_databases
async def test_a_reused_jti_is_refused_even_inside_its_lifetime(
    client: httpx.AsyncClient, container: Container, smart: SmartClient
) -> None:
    assertion = smart.assertion(container.clock.now(), jti="once-only")
    assert (await token_for(client, smart, assertion, "system/Slot.read")).status_code == 200
    again = await token_for(client, smart, assertion, "system/Slot.read")
    assert "jti" in assert_problem(again, 401, "oauth_error")["detail"]
    fresh = smart.assertion(container.clock.now(), jti="once-only-2")
    assert (await token_for(client, smart, fresh, "system/Slot.read")).status_code == 200


async def test_scopes_beyond_the_registration_and_other_grants_are_refused(
    client: httpx.AsyncClient, container: Container, smart: SmartClient
) -> None:
    now = container.clock.now()
    beyond = await token_for(client, smart, smart.assertion(now), "system/Patient.read")
    assert refused(beyond, 400, "oauth_error")["error"] == "invalid_scope"
    form = {**smart.form(smart.assertion(now)), "grant_type": "authorization_code"}
    grant = await client.post(TOKEN, data=form)
    assert refused(grant, 400, "oauth_error")["error"] == "unsupported_grant_type"
    stranger = SmartClient("smart-nobody", smart.key, smart.token_url)
    unknown = await token_for(client, stranger, stranger.assertion(now), "system/Slot.read")
    assert assert_problem(unknown, 401, "oauth_error")["error"] == "invalid_client"


async def test_a_revoked_client_loses_its_tokens_and_gets_no_new_one(
    client: httpx.AsyncClient, container: Container, smart: SmartClient
) -> None:
    now = container.clock.now()
    issued = await token_for(client, smart, smart.assertion(now), "system/Slot.read")
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert (await client.get(SLOTS, headers=headers)).status_code == 200
    await container.smart.clients.revoke(smart.id)
    assert_outcome(await client.get(SLOTS, headers=headers), 401, "login")
    again = await token_for(client, smart, smart.assertion(now), "system/Slot.read")
    assert assert_problem(again, 401, "oauth_error")["error"] == "invalid_client"


async def test_an_access_token_ends_with_its_lifetime(
    client: httpx.AsyncClient, container: Container, smart: SmartClient, clock: FixedClock
) -> None:
    issued = await token_for(
        client, smart, smart.assertion(container.clock.now()), "system/Slot.read"
    )
    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    clock.advance(timedelta(minutes=5, seconds=1))
    assert_outcome(await client.get(SLOTS, headers=headers), 401, "login")


async def test_the_smart_configuration_names_the_token_url_assertions_are_addressed_to(
    client: httpx.AsyncClient, container: Container
) -> None:
    found = (await client.get(f"{FHIR}/.well-known/smart-configuration")).json()
    assert found["token_endpoint"] == container.smart.tokens.token_url
    assert found["token_endpoint"].endswith(TOKEN)
    assert {"RS384", "ES384"} <= set(found["token_endpoint_auth_signing_alg_values_supported"])
    assert "client-confidential-asymmetric" in found["capabilities"]
    assert "system/Appointment.write" in found["scopes_supported"]


def test_clients_are_registered_listed_and_revoked_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = migrated_cli(tmp_path, monkeypatch)
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(SigningKey().jwk))
    added = ok(
        runner.invoke(
            cli,
            [
                "fhir",
                "client",
                "add",
                "Partner EHR",
                "--scope",
                "system/Appointment.read system/Slot.read",
                "--public-key",
                str(key_file),
            ],
        )
    )
    client_id = added.strip()
    assert client_id.startswith("smart-")
    listed = ok(runner.invoke(cli, ["fhir", "client", "list"]))
    assert client_id in listed
    assert "active" in listed
    ok(runner.invoke(cli, ["fhir", "client", "revoke", client_id]))
    assert "revoked" in ok(runner.invoke(cli, ["fhir", "client", "list"]))
    bad = runner.invoke(
        cli, ["fhir", "client", "add", "x", "--scope", "system/*.*", "--jwks-url", "https://k"]
    )
    assert bad.exit_code != 0
