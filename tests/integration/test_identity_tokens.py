"""Machine credentials over HTTP against a real database: API keys and OAuth
client-credentials tokens (ES256, our JWKS, key rotation).

The clock stands at Tuesday 2026-11-24 15:00Z; it only moves when a test advances it.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from clinicflow.bootstrap import Container
from clinicflow.identity.oauth.domain import jwt_keys
from clinicflow.shared.clock import FixedClock
from support.api import bearer, booking, refused

TOKEN_TTL = timedelta(minutes=15)


async def a_booking(client: httpx.AsyncClient) -> str:
    made = await client.post("/v1/bookings", json=booking())
    assert made.status_code == 201, made.text
    booking_id: str = made.json()["id"]
    return booking_id


async def new_key(container: Container, *scopes: str) -> tuple[str, str]:
    """The key's id and the full key (`cfk_<id>_<secret>`)."""
    view, full = await container.identity.apikeys.create("scheduler", "qa", list(scopes))
    return view.id, full


def secret_of(key_id: str, full: str) -> str:
    return full.removeprefix(f"cfk_{key_id}_")


async def oauth_token(
    client: httpx.AsyncClient, key_id: str, full: str, **form: str
) -> httpx.Response:
    basic = base64.b64encode(f"{key_id}:{secret_of(key_id, full)}".encode()).decode()
    return await client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", **form},
        headers={"Authorization": f"Basic {basic}"},
    )


async def access_token(client: httpx.AsyncClient, container: Container) -> tuple[str, str]:
    """A client's id and a bookings:read access token issued to it."""
    key_id, full = await new_key(container, "bookings:read")
    resp = await oauth_token(client, key_id, full)
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return key_id, token


# --- API keys ----------------------------------------------------------------------------


async def test_an_api_key_works_as_x_api_key_and_as_a_bearer_token(
    client: httpx.AsyncClient, container: Container
) -> None:
    booking_id = await a_booking(client)
    key_id, full = await new_key(container, "bookings:read")

    by_header = await client.get(f"/v1/bookings/{booking_id}", headers={"X-API-Key": full})
    by_bearer = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(full))

    assert by_header.status_code == by_bearer.status_code == 200, by_header.text
    who = (await client.get("/v1/auth/me", headers=bearer(full))).json()
    assert (who["kind"], who["id"], who["scopes"]) == ("client", key_id, ["bookings:read"])


@pytest.mark.both_databases
async def test_a_revoked_api_key_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    booking_id = await a_booking(client)
    key_id, full = await new_key(container, "bookings:read")

    await container.identity.apikeys.revoke(key_id)

    resp = await client.get(f"/v1/bookings/{booking_id}", headers={"X-API-Key": full})
    assert "revoked" in refused(resp, 401, "invalid_token")["detail"]


async def test_an_api_key_without_bookings_read_may_not_read_a_booking(
    client: httpx.AsyncClient, container: Container
) -> None:
    booking_id = await a_booking(client)
    _, full = await new_key(container, "patients:read")

    resp = await client.get(f"/v1/bookings/{booking_id}", headers={"X-API-Key": full})

    refused(resp, 403, "forbidden")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "cfk_short_x"},
        {"X-API-Key": "not-a-key"},
        {"Authorization": "Bearer cfk_ABCDEFGHJKLM"},
        {"Authorization": "Bearer cfk_ABCDEFGHJKLM_wrong-secret-of-enough-length"},
    ],
)
async def test_a_malformed_or_unknown_api_key_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    booking_id = await a_booking(client)

    resp = await client.get(f"/v1/bookings/{booking_id}", headers=headers)

    refused(resp, 401, "invalid_token")


# --- OAuth client credentials ------------------------------------------------------------


async def test_a_client_trades_http_basic_credentials_for_a_token_that_reads_bookings(
    client: httpx.AsyncClient, container: Container
) -> None:
    booking_id = await a_booking(client)
    key_id, full = await new_key(container, "bookings:read", "bookings:write")

    resp = await oauth_token(client, key_id, full, scope="bookings:read")

    assert resp.status_code == 200, resp.text
    issued = resp.json()
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == TOKEN_TTL.total_seconds()
    assert issued["scope"] == "bookings:read"
    assert jwt.get_unverified_header(issued["access_token"])["alg"] == "ES256"
    read = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(issued["access_token"]))
    assert read.status_code == 200, read.text
    who = (await client.get("/v1/auth/me", headers=bearer(issued["access_token"]))).json()
    assert (who["id"], who["scopes"]) == (key_id, ["bookings:read"])


async def test_a_client_may_send_its_credentials_in_the_form_instead(
    client: httpx.AsyncClient, container: Container
) -> None:
    booking_id = await a_booking(client)
    key_id, full = await new_key(container, "bookings:read")
    form = {
        "grant_type": "client_credentials",
        "client_id": key_id,
        "client_secret": secret_of(key_id, full),
    }

    resp = await client.post("/v1/oauth/token", data=form)

    assert resp.status_code == 200, resp.text
    token = resp.json()["access_token"]
    assert (await client.get(f"/v1/bookings/{booking_id}", headers=bearer(token))).is_success


@pytest.mark.parametrize(
    ("form", "error"),
    [
        pytest.param(
            {"scope": "bookings:read audit:read"},
            "invalid_scope",
            id="a_scope_the_client_does_not_hold",
        ),
        pytest.param(
            {"grant_type": "password"},
            "unsupported_grant_type",
            id="a_grant_type_other_than_client_credentials",
        ),
    ],
)
async def test_a_token_request_the_client_may_not_make_is_refused(
    client: httpx.AsyncClient, container: Container, form: dict[str, str], error: str
) -> None:
    key_id, full = await new_key(container, "bookings:read")

    resp = await oauth_token(client, key_id, full, **form)

    assert refused(resp, 400, "oauth_error")["error"] == error


async def test_a_wrong_client_secret_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    key_id, _ = await new_key(container, "bookings:read")

    resp = await oauth_token(client, key_id, f"cfk_{key_id}_not-the-secret-at-all")

    assert_invalid_client(resp)


async def test_missing_client_credentials_are_refused(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/oauth/token", data={"grant_type": "client_credentials"})

    assert_invalid_client(resp)


def assert_invalid_client(resp: httpx.Response) -> None:
    # RFC 6749 §5.2: 401, challenging for the scheme client credentials are sent by.
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert (body["status"], body["code"], body["error"]) == (401, "oauth_error", "invalid_client")
    assert resp.headers["www-authenticate"].startswith("Basic")


async def test_the_jwks_publishes_the_signing_key_without_its_private_part(
    client: httpx.AsyncClient, container: Container
) -> None:
    _, token = await access_token(client, container)

    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]

    kid = jwt.get_unverified_header(token)["kid"]
    assert [k["kid"] for k in keys] == [kid]
    assert (keys[0]["kty"], keys[0]["crv"], keys[0]["alg"]) == ("EC", "P-256", "ES256")
    assert "d" not in keys[0]


async def test_an_access_token_expires(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    booking_id = await a_booking(client)
    _, token = await access_token(client, container)

    clock.advance(TOKEN_TTL + timedelta(seconds=31))  # past the 30 s leeway

    resp = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(token))
    assert "expired" in refused(resp, 401, "invalid_token")["detail"]


@pytest.mark.both_databases
async def test_tokens_of_a_revoked_client_stop_working_at_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    booking_id = await a_booking(client)
    key_id, token = await access_token(client, container)

    await container.identity.apikeys.revoke(key_id)

    resp = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(token))
    assert "revoked" in refused(resp, 401, "invalid_token")["detail"]


def tampered(token: str, **claims: Any) -> str:
    """The token with its payload changed and the original signature kept."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = base64.urlsafe_b64encode(json.dumps(decoded | claims).encode()).rstrip(b"=")
    return f"{header}.{changed.decode()}.{signature}"


async def forged(
    container: Container, clock: FixedClock, key_id: str, *, real_key: bool, **claims: str
) -> str:
    tokens = container.identity.tokens
    key = await tokens._signing_key() if real_key else jwt_keys.generate_signing_key(clock.now())
    token, _ = jwt_keys.issue(
        key,
        issuer=claims.get("issuer", tokens.issuer),
        audience=claims.get("audience", tokens.audience),
        subject=key_id,
        scopes=["bookings:read"],
        ttl=TOKEN_TTL,
        now=clock.now(),
    )
    return token


@pytest.mark.parametrize(
    ("forge", "complaint"),
    [
        ("audience", "audience is 'someone-else'"),
        ("issuer", "issuer is not one this clinic accepts"),
        ("payload", "signature does not verify"),
        ("unknown_key", "unknown signing key id"),
    ],
)
async def test_a_forged_or_misdirected_token_is_refused(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    forge: str,
    complaint: str,
) -> None:
    booking_id = await a_booking(client)
    key_id, token = await access_token(client, container)
    bad = {
        "audience": lambda: forged(
            container, clock, key_id, real_key=True, audience="someone-else"
        ),
        "issuer": lambda: forged(container, clock, key_id, real_key=True, issuer="https://evil"),
        "unknown_key": lambda: forged(container, clock, key_id, real_key=False),
    }
    presented = (
        tampered(token, scope="bookings:write") if forge == "payload" else await bad[forge]()
    )

    resp = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(presented))

    assert complaint in refused(resp, 401, "invalid_token")["detail"]


async def test_tokens_signed_before_a_rotation_verify_until_the_old_key_is_retired(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    booking_id = await a_booking(client)
    _, old_token = await access_token(client, container)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    clock.advance(timedelta(minutes=1))  # the newest key signs: rotation comes later in time

    new_kid = await container.identity.tokens.rotate()

    assert (await client.get(f"/v1/bookings/{booking_id}", headers=bearer(old_token))).is_success
    published = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert published == {old_kid, new_kid}
    _, new_token = await access_token(client, container)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid

    await container.identity.tokens.retire(old_kid)

    resp = await client.get(f"/v1/bookings/{booking_id}", headers=bearer(old_token))
    assert "unknown signing key id" in refused(resp, 401, "invalid_token")["detail"]
    assert (await client.get(f"/v1/bookings/{booking_id}", headers=bearer(new_token))).is_success
