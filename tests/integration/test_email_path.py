"""One outgoing-email path for every message the clinic sends: with no provider configured,
every kind of patient message lands as an .eml in `<data_dir>/mailbox/` (the confirmation
with its .ics); with only SendGrid configured (the fake on loopback), all of them reach
SendGrid and none is written to disk. A message counts as sent only once a provider took it.

Every link in them starts with the configured public URL and leads to a path the app serves.
The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago, UTC-6).
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.routing import Match

from clinicflow.bootstrap import Container
from clinicflow.gateway.app import create_app
from clinicflow.infra.bus import Envelope
from clinicflow.notifications.domain.payment import PaymentNotice
from clinicflow.notifications.domain.render import TEMPLATES, Renderer, RenderOptions
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.tables import messages
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from clinicflow.web.security import CSRF_FIELD
from support.api import booking
from support.app import admin_session, clinic_settings, staff_session
from support.fake_sendgrid import API_KEY, FakeSendGrid
from support.fake_vendor import serving
from support.notifications import Opened, envelope
from support.waitlist import clinic_yaml, join, person

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PUBLIC = "https://clinic.example:8443/care"
SENDER = "Riverbend <no-reply@clinic.example>"
URL = re.compile(r"""https?://[^\s"'<>]+""")
KINDS = ("confirmation", "rescheduled", "cancelled", "reminder", "receipt", "refund")


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    yield from serving(FakeSendGrid())


@pytest.fixture
def on_sendgrid(database_url: str, tmp_path: Path, sendgrid: FakeSendGrid) -> Settings:
    """Email by SendGrid (the fake)."""
    return settings_with(
        database_url, tmp_path, sendgrid_api_key=API_KEY, sendgrid_base_url=sendgrid.url
    )


def settings_with(database_url: str, tmp_path: Path, **values: Any) -> Settings:
    return clinic_settings(
        database_url,
        tmp_path,
        config_path=clinic_yaml(tmp_path),  # counseling priced, so it can be launched
        public_url=PUBLIC,
        mail_sender=SENDER,
        provider_retry_wait_seconds=0,
        **values,
    )


async def deliver(container: Container, type_: str, booking_id: str) -> None:
    await container.notifications.subscriber.handle(await envelope(container, type_, booking_id))


def payment_event(type_: str, booking_id: str, patient_id: str, clock: FixedClock) -> Envelope:
    payload = {
        "order_id": "order-1",
        "total_cents": 15000,
        "amount_cents": 5000,
        "refunded_cents": 5000 if type_ == "payment.refunded" else 0,
        "currency": "USD",
        "method": "in_clinic",
        "provider": "in_clinic",
        "booking_ids": [booking_id],
        "patient_id": patient_id,
        "refund_id": "refund-1",
    }
    return Envelope(
        event_id=f"{type_}-1",
        type=type_,
        version=1,
        occurred_at=clock.now(),
        aggregate_type="payment",
        aggregate_id="order-1",
        payload=payload,
        traceparent=None,
    )


async def send_every_kind(container: Container, clock: FixedClock) -> FastAPI:
    """Confirmation, change, cancellation, reminder, receipt, refund notice, sign-in link and
    waitlist invitation, each through the app and the bus subscriber as in production."""
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as client:
        desk = await staff_session(container, "desk", "front_desk")
        await join(client, person(1))
        launched = await client.post(
            "/v1/services/counseling/launch", headers=await admin_session(container)
        )
        assert launched.status_code == 201, launched.text  # the invitation goes out here

        made = await client.post("/v1/bookings", json=booking())
        assert made.status_code == 201, made.text
        visit = made.json()
        await deliver(container, "booking.created", visit["id"])
        moved = await client.post(
            f"/v1/bookings/{visit['id']}/reschedule",
            json={"start": "2026-11-25T11:00:00-06:00"},
            headers=desk,
        )
        assert moved.status_code == 200, moved.text
        await deliver(container, "booking.rescheduled", visit["id"])
        clock.advance(timedelta(hours=3))  # the 24-hour reminder falls due
        assert await container.notifications.reminders.send_due(clock.now()) == 1
        for type_ in ("payment.succeeded", "payment.refunded"):
            event = payment_event(type_, visit["id"], visit["patient_id"], clock)
            await container.notifications.subscriber.handle(event)
        desk = await staff_session(container, "desk2", "front_desk")  # the first timed out
        cancelled = await client.post(f"/v1/bookings/{visit['id']}/cancel", headers=desk)
        assert cancelled.status_code == 200, cancelled.text
        await deliver(container, "booking.cancelled", visit["id"])

        link = await client.post("/v1/auth/patient-link", json={"email": "pat1@example.com"})
        assert link.status_code == 202, link.text
    return app


async def email_rows(container: Container) -> dict[str, Any]:
    query = select(messages).where(messages.c.channel == "email")
    async with container.db.read() as conn:
        return {r.template.split(".")[0]: r for r in (await conn.execute(query)).all()}


def mailbox(settings: Settings) -> list[EmailMessage]:
    found = []
    for path in sorted((settings.data_dir / "mailbox").glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def texts_of(message: EmailMessage) -> list[str]:
    return [
        str(part.get_content())
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    ]


def csrf_token(html: str) -> str:
    found = re.search(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def served(app: FastAPI, url: str) -> bool:
    """Whether the app answers GET on this URL's path (the link a patient clicks)."""
    path = url.removeprefix(PUBLIC).split("?", 1)[0].split("#", 1)[0]
    scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def assert_links_lead_somewhere(app: FastAPI, texts: list[str]) -> int:
    urls = [u.rstrip(".,;)") for text in texts for u in URL.findall(text)]
    for url in urls:
        assert url.startswith(PUBLIC + "/"), url
        assert served(app, url), f"no GET route serves {url}"
    return len(urls)


async def test_without_a_provider_every_kind_of_message_is_an_eml_in_the_mailbox(
    database_url: str, tmp_path: Path, clock: FixedClock, opened: Opened
) -> None:
    settings = settings_with(database_url, tmp_path)
    container = opened.start(settings, clock)
    app = await send_every_kind(container, clock)

    rows = await email_rows(container)
    assert set(rows) == set(KINDS)
    assert {(r.status, r.provider) for r in rows.values()} == {("delivered", "mailbox")}
    mails = mailbox(settings)
    by_id = {str(m["Message-ID"]): m for m in mails}
    for kind, row in rows.items():
        assert row.provider_id in by_id, kind  # the file the row says was written
    [confirmation] = [m for m in mails if m["Subject"].endswith("is booked")]
    [ics] = [p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert "BEGIN:VCALENDAR" in str(ics.get_content())
    texts = [t for m in mails for t in texts_of(m)]
    assert any(f"{PUBLIC}/sign-in?token=cfl_" in t for t in texts)  # the sign-in link
    assert any(f"{PUBLIC}/waitlist/invitations?token=" in t for t in texts)
    assert len(mails) == len(KINDS) + 2
    assert assert_links_lead_somewhere(app, texts) >= len(mails)


async def test_with_only_sendgrid_every_kind_of_message_reaches_it(
    on_sendgrid: Settings, clock: FixedClock, opened: Opened, sendgrid: FakeSendGrid
) -> None:
    settings = on_sendgrid
    container = opened.start(settings, clock)
    app = await send_every_kind(container, clock)

    rows = await email_rows(container)
    assert set(rows) == set(KINDS)
    assert {(r.status, r.provider) for r in rows.values()} == {("sent", "sendgrid")}
    assert mailbox(settings) == []  # nothing was left on the server's disk
    sent = sendgrid.messages
    assert len(sent) == len(KINDS) + 2
    texts = [c["value"] for m in sent for c in m["content"]]
    assert any(f"{PUBLIC}/sign-in?token=cfl_" in t for t in texts)
    assert any(f"{PUBLIC}/waitlist/invitations?token=" in t for t in texts)
    [confirmation] = [m for m in sent if m["subject"].endswith("is booked")]
    assert [a["filename"] for a in confirmation["attachments"]] == ["invite.ics"]
    # Each booking message carries the Message-ID derived from its row, the same on a retry.
    ids = {m["headers"]["Message-ID"] for m in sent if "headers" in m}
    assert {f"<{r.id}@clinic.example>" for r in rows.values()} <= ids
    assert_links_lead_somewhere(app, texts)


async def test_a_failing_provider_leaves_the_message_unsent_and_nothing_on_disk(
    on_sendgrid: Settings, clock: FixedClock, opened: Opened, sendgrid: FakeSendGrid
) -> None:
    settings = on_sendgrid
    container = opened.start(settings, clock)
    sendgrid.failing = 503
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as client:
        made = await client.post("/v1/bookings", json=booking())
        assert made.status_code == 201, made.text
        with pytest.raises(Exception, match="not sent"):
            await deliver(container, "booking.created", made.json()["id"])
        link = await client.post("/v1/auth/patient-link", json={"email": "pat1@example.com"})
        assert link.status_code == 202  # the same answer; the link was not delivered

    [row] = (await email_rows(container)).values()
    assert (row.status, row.provider_id) == ("failed", None)
    assert sendgrid.messages == []
    assert mailbox(settings) == []


async def test_every_template_links_only_to_served_paths_under_the_public_url(
    database_url: str, tmp_path: Path, clock: FixedClock, opened: Opened
) -> None:
    """Every message template, for every channel it has, rendered with a visit or a payment:
    each URL in its subject, text, HTML or push payload is under the configured public URL
    and leads to a path the app answers GET on."""
    container = opened.start(settings_with(database_url, tmp_path), clock)
    app = create_app(container=container)
    renderer = Renderer(container.catalog, RenderOptions(PUBLIC))
    start_at = clock.now() + timedelta(days=1)
    visit = Visit("b-1", "alternative_medicine", "initial", "doctor1", start_at, start_at)
    paid = PaymentNotice("order-1", 5000, 15000, 5000, "USD", "stripe", "stripe", ("b-1",))
    names = {p.name.split(".")[0] + "." + p.name.split(".")[1] for p in TEMPLATES.iterdir()}
    templates = sorted(n for n in names if not n.startswith("_") and ".subject" not in n)
    assert len(templates) == 14  # 6 kinds by email; 4 by SMS and by push (visits only)
    found = 0
    for template in templates:
        kind = template.split(".")[0]
        out = renderer.render(template, paid if kind in ("receipt", "refund") else visit)
        texts = [out.subject, out.text, out.html or "", *(out.data or {}).values()]
        found += assert_links_lead_somewhere(app, texts)
    assert found >= len(templates)


async def test_the_sign_in_link_opens_a_page_and_only_its_button_uses_the_token(
    database_url: str, tmp_path: Path, clock: FixedClock, opened: Opened
) -> None:
    settings = settings_with(database_url, tmp_path)
    container = opened.start(settings, clock)
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as client:
        assert (await client.post("/v1/bookings", json=booking())).status_code == 201
        await client.post("/v1/auth/patient-link", json={"email": "pat1@example.com"})
        [mail] = [m for m in mailbox(settings) if "sign-in link" in str(m["Subject"])]
        found = re.search(r"/sign-in\?token=(cfl_[A-Za-z0-9_-]+)", texts_of(mail)[0])
        assert found
        token = found.group(1)

        for _ in range(2):  # a mail scanner's visit, then the patient's: the token is intact
            page = await client.get("/sign-in", params={"token": token})
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert f'name="token" value="{token}"' in page.text
            assert 'method="post" action="/sign-in"' in page.text

        form = {CSRF_FIELD: csrf_token(page.text), "token": token}
        signed = await client.post("/sign-in", data=form)
        assert signed.status_code == 303
        assert signed.headers["location"] == "/me"  # the patient's area (web/patient_area.py)
        mine = await client.get("/v1/bookings")  # with the session cookie just set
        assert mine.status_code == 200, mine.text
        client.cookies.clear()  # the link opened again, in another browser
        page = await client.get("/sign-in", params={"token": token})
        again = await client.post("/sign-in", data={**form, CSRF_FIELD: csrf_token(page.text)})
        assert again.status_code == 401  # used once
