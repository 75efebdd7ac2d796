"""Sign-ins against a served app, each over its own new TCP connection from a loopback source
address (all of 127.0.0.0/8 is local on Linux), so the server sees distinct peers; and what
the database counted of them."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.identity.tables import users
from support.app import PASSWORD
from support.loopback_tls import loopback_tls

WRONG = "not the password at all"


async def admin(container: Container) -> str:
    """The admin "boss" (password PASSWORD), made: their authenticator's TOTP secret."""
    made = await container.identity.users.create("boss", "admin", PASSWORD)
    assert made.totp_uri is not None
    secret: str = pyotp.parse_uri(made.totp_uri).secret
    return secret


async def login_from(
    base_url: str, address: str, username: str, password: str, code: str | None = None
) -> httpx.Response:
    """One sign-in on a fresh connection from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address, retries=0, verify=loopback_tls())
    async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30) as http:
        body: dict[str, Any] = {"username": username, "password": password}
        if code is not None:
            body["totp_code"] = code
        return await http.post("/v1/auth/login", json=body)


async def scalar(container: Container, query: Any) -> Any:
    async with container.db.read() as conn:
        return (await conn.execute(query)).scalar_one()


async def failed_logins(container: Container, username: str) -> int:
    found = await scalar(
        container, select(users.c.failed_logins).where(users.c.username == username)
    )
    return int(found)


def comparable(resp: httpx.Response) -> tuple[int, str, dict[str, str]]:
    """Everything a caller sees, less what differs between any two requests."""
    headers = {k: v for k, v in resp.headers.items() if k not in {"date", "x-request-id"}}
    return resp.status_code, resp.text, headers
