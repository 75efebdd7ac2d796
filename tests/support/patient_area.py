"""What the patient's area tests (tests/integration/patient_area/) share: the emailed sign-in link
and the mailbox it lands in, the CSRF field of a page and a form posted with it, a visit booked
and paid at the desk, a patient signed in, and a booking's status and an order's refunds as
stored.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.payments.tables import refunds
from clinicflow.web.security import CSRF_FIELD
from support.api import WED_10, booking
from support.app import staff_session
from support.pages import TOKEN

LINK = re.compile(r"/sign-in\?token=(cfl_[A-Za-z0-9_-]+)(?:&next=([^\s]+))?")
SIGNED_OUT = "Email me a sign-in link"
NOT_FOUND = "We could not find that"
BASE = "http://clinic.test"


def mailbox(container: Container) -> list[Path]:
    return sorted((container.settings.data_dir / "mailbox").glob("*.eml"))


def text_of(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def csrf(page: httpx.Response) -> str:
    found = TOKEN.search(page.text)
    assert found, f"no form token on {page.url}"
    return found.group(1)


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """Opens `page`, then posts its form to `action` with the page's own token."""
    shown = await client.get(page)
    return await client.post(action, data={CSRF_FIELD: csrf(shown), **(data or {})})


async def book(client: httpx.AsyncClient, n: int = 1, start: str = WED_10) -> dict[str, Any]:
    made = await client.post("/v1/bookings", json=booking(start, n))
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def paid_at_the_desk(
    client: httpx.AsyncClient, container: Container, booking_id: str, desk: str = "desk"
) -> dict[str, Any]:
    headers = await staff_session(container, desk, "front_desk")
    body = {"booking_ids": [booking_id], "method": "in_clinic", "tender": "cash"}
    paid = await client.post("/v1/payments", json=body, headers=headers)
    assert paid.status_code == 201, paid.text
    order: dict[str, Any] = paid.json()
    return order


async def signed_in(
    client: httpx.AsyncClient, container: Container, address: str, then: str = ""
) -> httpx.Response:
    """Asks for a link on the page, opens the emailed link and presses its button."""
    before = set(mailbox(container))
    form = {"email": address, **({"next": then} if then else {})}
    asked = await post_form(client, "/me", "/sign-in/link", form)
    assert asked.status_code == 200, asked.text
    [new] = set(mailbox(container)) - before
    found = LINK.search(text_of(new))
    assert found, "no sign-in link in the email"
    link = found.group(0)
    button = await client.get(link)
    assert button.status_code == 200
    token = found.group(1)
    data = {"token": token, "next": then} if then else {"token": token}
    return await client.post("/sign-in", data={CSRF_FIELD: csrf(button), **data})


async def status_of(container: Container, booking_id: str) -> tuple[str, Any]:
    query = select(appointments.c.status, appointments.c.start_at).where(
        appointments.c.id == booking_id
    )
    async with container.db.read() as conn:
        row = (await conn.execute(query)).one()
    return row.status, row.start_at


async def refunds_of(container: Container, order_id: str) -> list[int]:
    query = select(refunds.c.amount_cents).where(refunds.c.order_id == order_id)
    async with container.db.read() as conn:
        return [r.amount_cents for r in await conn.execute(query)]
