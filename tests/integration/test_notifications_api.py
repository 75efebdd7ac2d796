"""GET /v1/notifications: staff see any patient's messages, a patient only their own; every
read is audited; the texts are rendered on read (the table keeps no PHI)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from clinicflow.adapters.messaging.mailbox import MailboxEmail
from clinicflow.bootstrap import Container
from clinicflow.bootstrap.notifications import Notifications
from clinicflow.infra.audit import audit_log
from clinicflow.shared.clock import FixedClock
from support.api import assert_problem
from support.app import staff_session
from support.notifications import book, envelope, notifications_of


@pytest.fixture
def notifications(container: Container, clock: FixedClock) -> Notifications:
    """The embedded default: email to the local mailbox, no SMS provider (SMS kept locally)."""
    built = notifications_of(
        container,
        clock,
        email=MailboxEmail(container.settings.data_dir / "mailbox", "clinic@localhost", clock),
        public_url="https://clinic.example",
    )
    container.notifications = built  # type: ignore[attr-defined]
    return built


async def patient_session(container: Container, patient_id: str) -> dict[str, str]:
    opened = await container.identity.sessions.open_for_patient(patient_id)
    return {"Cookie": f"cf_session={opened.token}"}


@pytest.fixture
async def two(
    app_client: httpx.AsyncClient, container: Container, notifications: Notifications
) -> list[dict[str, Any]]:
    made = [await book(app_client), await book(app_client, n=2, practitioner="doctor2")]
    for m in made:
        event = await envelope(container, "booking.created", m["id"])
        await notifications.subscriber.handle(event)
    return made


async def test_without_providers_messages_are_kept_and_rendered_on_read(
    app_client: httpx.AsyncClient, two: list[dict[str, Any]], front_desk: dict[str, str]
) -> None:
    patient_id = two[0]["patient_id"]
    resp = await app_client.get(
        "/v1/notifications", params={"patient_id": patient_id}, headers=front_desk
    )
    assert resp.status_code == 200, resp.text
    found = {n["template"]: n for n in resp.json()["notifications"]}
    local = found["confirmation.email"]
    assert (local["channel"], local["status"], local["provider"]) == (
        "email",
        "delivered",
        "mailbox",
    )
    assert "Dr. Elena Marsh" in local["text"]
    assert local["subject"].startswith("Your visit at Riverbend Wellness Clinic")
    skipped = found["confirmation.sms"]
    assert (skipped["status"], skipped["reason"], skipped["text"]) == (
        "skipped",
        "no consent",
        None,
    )
    only_skipped = await app_client.get(
        "/v1/notifications", params={"status": "skipped"}, headers=front_desk
    )
    assert {n["status"] for n in only_skipped.json()["notifications"]} == {"skipped"}
    assert len(only_skipped.json()["notifications"]) == 2


async def test_staff_reads_are_audited(
    app_client: httpx.AsyncClient,
    container: Container,
    two: list[dict[str, Any]],
    front_desk: dict[str, str],
) -> None:
    patient_id = two[0]["patient_id"]
    await app_client.get("/v1/notifications", params={"patient_id": patient_id}, headers=front_desk)
    async with container.db.read() as conn:
        query = select(audit_log).where(audit_log.c.action == "read_notifications")
        audited = (await conn.execute(query)).all()
    assert [(a.role, a.patient_id, a.outcome) for a in audited] == [
        ("front_desk", patient_id, "allowed")
    ]


async def test_a_patient_sees_only_their_own(
    app_client: httpx.AsyncClient, container: Container, two: list[dict[str, Any]]
) -> None:
    mine, theirs = two[0]["patient_id"], two[1]["patient_id"]
    headers = await patient_session(container, mine)
    resp = await app_client.get("/v1/notifications", headers=headers)
    assert resp.status_code == 200, resp.text
    assert {n["patient_id"] for n in resp.json()["notifications"]} == {mine}
    refused = await app_client.get(
        "/v1/notifications", params={"patient_id": theirs}, headers=headers
    )
    assert_problem(refused, 403, "forbidden")


async def test_other_roles_and_anonymous_callers_are_refused(
    app_client: httpx.AsyncClient, container: Container, two: list[dict[str, Any]]
) -> None:
    assert_problem(await app_client.get("/v1/notifications"), 401, "authentication_required")
    billing = await staff_session(container, "bill", "billing")
    assert_problem(await app_client.get("/v1/notifications", headers=billing), 403, "forbidden")
    assert_problem(
        await app_client.get("/v1/notifications", params={"status": "lost"}, headers=billing),
        403,
        "forbidden",
    )
