"""Sign-in over HTTP against a real database: staff passwords and back-off, the admin's TOTP,
session idle timeout on the injected clock, and patients' one-time links. The rules behind
them (password policy, codes, idle and lifetime limits, links' single use and expiry) are
tested on the in-memory unit of work in tests/unit/identity/.

The clock stands at Tuesday 2026-11-24 15:00Z; it only moves when a test advances it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from clinicflow.bootstrap import Container
from clinicflow.identity.users.domain import totp
from clinicflow.shared.clock import FixedClock
from support.api import bearer, booking, mailbox, refused, request_link
from support.signin import admin

PASSWORD = "correct horse battery staple"
IDLE = timedelta(minutes=15)
LINK_LIFETIME = timedelta(minutes=15)


async def sign_in(client: httpx.AsyncClient, username: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/login", json={"username": username, "password": PASSWORD, **extra}
    )


async def staff_token(client: httpx.AsyncClient, container: Container) -> str:
    """A front-desk session token, signed in over HTTP; the cookie jar is left empty."""
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    resp = await sign_in(client, "desk")
    assert resp.status_code == 200, resp.text
    client.cookies.clear()
    token: str = resp.json()["token"]
    return token


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/v1/auth/me", headers=bearer(token))


# --- staff passwords ---------------------------------------------------------------------


async def test_staff_sign_in_gives_a_token_and_an_http_only_cookie_that_carry_the_role(
    client: httpx.AsyncClient, container: Container
) -> None:
    created = await container.identity.users.create("desk", "front_desk", PASSWORD)

    resp = await sign_in(client, "Desk")

    assert resp.status_code == 200, resp.text
    session = resp.json()
    assert session["token"].startswith("cfs_")
    assert session["role"] == "front_desk"
    assert session["user_id"] == created.user.id
    assert session["idle_timeout_seconds"] == 15 * 60
    lifetime = timedelta(hours=container.settings.session_max_hours)  # the wiring of both
    assert datetime.fromisoformat(session["expires_at"]) == container.clock.now() + lifetime
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"cf_session={session['token']}")
    assert "httponly" in cookie.lower()
    # A lifetime, not a date: the browser's clock counts it (the server's clock, here a fixed
    # one, cannot make the cookie arrive already expired).
    assert "max-age=" in cookie.lower()
    assert "expires=" not in cookie.lower()
    by_token = (await me(client, session["token"])).json()
    assert (by_token["kind"], by_token["role"], by_token["id"]) == (
        "user",
        "front_desk",
        created.user.id,
    )
    by_cookie = (await client.get("/v1/auth/me")).json()  # the jar sends cf_session
    assert by_cookie["role"] == "front_desk"


async def test_a_wrong_password_is_refused(client: httpx.AsyncClient, container: Container) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)

    resp = await client.post("/v1/auth/login", json={"username": "desk", "password": "nope"})

    body = refused(resp, 401, "invalid_token")
    assert "username or password is wrong" in body["detail"]
    assert "set-cookie" not in resp.headers


async def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.post("/v1/auth/login", json={"username": "ghost", "password": "nope"})

    assert "username or password is wrong" in refused(resp, 401, "invalid_token")["detail"]


@pytest.mark.both_databases
async def test_after_five_wrong_passwords_this_address_waits_and_the_wait_doubles(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    wrong = {"username": "desk", "password": "not the password"}
    for _ in range(5):
        refused(await client.post("/v1/auth/login", json=wrong), 401, "invalid_token")

    waiting = await sign_in(client, "desk")  # the right password waits too: no free guess
    assert "try again in 30 seconds" in refused(waiting, 429, "sign_in_backoff")["detail"]
    assert waiting.headers["retry-after"] == "30"
    clock.advance(timedelta(seconds=29))
    assert (await sign_in(client, "desk")).headers["retry-after"] == "1"

    clock.advance(timedelta(seconds=1))
    refused(await client.post("/v1/auth/login", json=wrong), 401, "invalid_token")
    assert (await sign_in(client, "desk")).headers["retry-after"] == "60"
    clock.advance(timedelta(seconds=60))
    assert (await sign_in(client, "desk")).status_code == 200  # the 10th: the per-IP limit


# --- the administrator's second factor ---------------------------------------------------


@pytest.fixture
async def admin_secret(container: Container) -> str:
    return await admin(container)


async def test_an_admin_cannot_sign_in_without_the_authenticator_code(
    client: httpx.AsyncClient, admin_secret: str
) -> None:
    resp = await sign_in(client, "boss")

    assert "6-digit code" in refused(resp, 401, "totp_required")["detail"]
    assert "set-cookie" not in resp.headers


@pytest.mark.both_databases
async def test_an_admin_signs_in_with_the_current_code_and_it_cannot_be_replayed(
    client: httpx.AsyncClient, admin_secret: str, clock: FixedClock
) -> None:
    code = totp.code_at(admin_secret, clock.now())

    first = await sign_in(client, "boss", totp_code=code)
    assert first.status_code == 200, first.text
    assert (await me(client, first.json()["token"])).json()["role"] == "admin"
    client.cookies.clear()

    replay = refused(await sign_in(client, "boss", totp_code=code), 401, "invalid_token")
    assert "already used" in replay["detail"]
    clock.advance(timedelta(seconds=30))
    next_code = totp.code_at(admin_secret, clock.now())
    assert (await sign_in(client, "boss", totp_code=next_code)).status_code == 200


# --- session idle timeout, lifetime, sign-out --------------------------------------------


async def test_each_use_restarts_the_idle_timer(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    token = await staff_token(client, container)
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        assert (await me(client, token)).status_code == 200  # 30 minutes in, never 15 idle


async def test_fifteen_minutes_without_use_ends_the_session(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    token = await staff_token(client, container)
    clock.advance(timedelta(minutes=10))
    assert (await me(client, token)).status_code == 200

    clock.advance(IDLE)

    body = refused(await me(client, token), 401, "invalid_token")
    assert "inactivity" in body["detail"]


async def test_signing_out_ends_the_session(
    client: httpx.AsyncClient, container: Container
) -> None:
    token = await staff_token(client, container)

    out = await client.post("/v1/auth/logout", headers=bearer(token))

    assert out.status_code == 204
    assert "signed out" in refused(await me(client, token), 401, "invalid_token")["detail"]


async def test_signing_out_with_the_cookie_ends_the_session_and_clears_the_cookie(
    client: httpx.AsyncClient, container: Container
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    token = (await sign_in(client, "desk")).json()["token"]

    out = await client.post("/v1/auth/logout")

    assert out.status_code == 204
    assert "cf_session" not in client.cookies
    assert (await client.get("/v1/auth/me")).json()["kind"] == "anonymous"
    refused(await me(client, token), 401, "invalid_token")


async def test_a_timed_out_session_cookie_does_not_stop_signing_in_or_out_again(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    await container.identity.users.create("desk", "front_desk", PASSWORD)
    assert (await sign_in(client, "desk")).status_code == 200
    clock.advance(IDLE)
    refused(await client.get("/v1/auth/me"), 401, "invalid_token")  # the stale cookie is sent

    assert (await client.post("/v1/auth/logout")).status_code == 204
    assert "cf_session" not in client.cookies
    client.cookies.set("cf_session", "cfs_long-gone", domain="clinic.test")
    again = await sign_in(client, "desk")

    assert again.status_code == 200, again.text
    assert (await client.get("/v1/auth/me")).json()["role"] == "front_desk"


# --- patients' one-time sign-in links ----------------------------------------------------


async def test_a_patient_signs_in_with_the_emailed_link_and_sees_their_own_booking(
    client: httpx.AsyncClient, container: Container
) -> None:
    made = (await client.post("/v1/bookings", json=booking())).json()
    token = await request_link(client, container, "Pat1@Example.com")

    resp = await client.post("/v1/auth/patient-session", json={"token": token})

    assert resp.status_code == 200, resp.text
    session = resp.json()
    assert session["role"] == "patient"
    assert "httponly" in resp.headers["set-cookie"].lower()
    who = (await me(client, session["token"])).json()
    assert (who["role"], who["patient_id"]) == ("patient", session["patient_id"])
    own = await client.get(f"/v1/bookings/{made['id']}", headers=bearer(session["token"]))
    assert own.status_code == 200, own.text
    assert own.json()["id"] == made["id"]


@pytest.mark.both_databases
async def test_a_sign_in_link_works_only_once(
    client: httpx.AsyncClient, container: Container
) -> None:
    await client.post("/v1/bookings", json=booking())
    token = await request_link(client, container, "pat1@example.com")
    assert (await client.post("/v1/auth/patient-session", json={"token": token})).is_success
    client.cookies.clear()

    again = await client.post("/v1/auth/patient-session", json={"token": token})

    assert "already used" in refused(again, 401, "invalid_token")["detail"]


@pytest.mark.both_databases
async def test_a_sign_in_link_expires_after_fifteen_minutes(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    await client.post("/v1/bookings", json=booking())
    token = await request_link(client, container, "pat1@example.com")

    clock.advance(LINK_LIFETIME)

    late = await client.post("/v1/auth/patient-session", json={"token": token})
    assert "expired" in refused(late, 401, "invalid_token")["detail"]


async def test_an_unknown_email_gets_the_same_answer_and_no_mail(
    client: httpx.AsyncClient, container: Container
) -> None:
    await client.post("/v1/bookings", json=booking())
    known = await client.post("/v1/auth/patient-link", json={"email": "pat1@example.com"})
    sent = mailbox(container)

    unknown = await client.post("/v1/auth/patient-link", json={"email": "nobody@example.com"})

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    per_request = {"date", "x-request-id", "ratelimit-remaining"}
    assert {k: v for k, v in unknown.headers.items() if k not in per_request} == {
        k: v for k, v in known.headers.items() if k not in per_request
    }
    assert mailbox(container) == sent


async def test_a_made_up_link_token_is_refused(client: httpx.AsyncClient) -> None:
    resp = await client.post("/v1/auth/patient-session", json={"token": "cfl_made-up-token"})

    assert "unknown sign-in link" in refused(resp, 401, "invalid_token")["detail"]
