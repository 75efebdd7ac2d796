"""Registering a browser for Web Push, on the in-memory unit of work: only a signed-in patient,
only for themselves, only when push is configured (removing always works); each registration
and removal audited, a browser taken over from another patient under both; a de-identified
patient's browsers forgotten. Over HTTP, with the real push service's encryption, it is
tests/integration/push_notifications/.
"""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.infra.bus import Envelope
from clinicflow.notifications.push.errors import PushNotConfigured
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, InvalidRequest, Unauthenticated
from support.fake_notifications import CATALOG, NOW, FakeNotifications, Wired

KEY = "BPublicKeyOfTheClinic"
ENDPOINT = "https://push.example.net/send/abc123"
PAT1 = Actor(kind="patient", id="patient:p1", role=Role.PATIENT, patient_id="p1")
PAT2 = Actor(kind="patient", id="patient:p2", role=Role.PATIENT, patient_id="p2")
DESK = Actor(kind="user", id="desk", role=Role.FRONT_DESK)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


P256DH = b64url(
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
)
AUTH = b64url(bytes(range(16)))


def registry(public_key: str | None = KEY) -> tuple[FakeNotifications, Wired]:
    db = FakeNotifications()
    return db, db.wire(FixedClock(NOW), CATALOG, {}, push_public_key=public_key)


async def test_a_patient_registers_their_browser_and_it_is_audited() -> None:
    db, wired = registry()
    assert await wired.push.key(PAT1) == KEY
    made = await wired.push.register(PAT1, ENDPOINT, P256DH, AUTH, "Firefox/133.0")

    [row] = db.tables.browsers.values()
    assert (row.id, row.patient_id, row.subscription.endpoint) == (made.id, "p1", ENDPOINT)
    assert made.created_at == made.updated_at == NOW
    assert db.audited() == [("patient:p1", "register_push_subscription", "push_subscription", "p1")]


async def test_the_same_browser_again_updates_it_and_a_takeover_is_audited_for_both() -> None:
    db, wired = registry()
    first = await wired.push.register(PAT1, ENDPOINT, P256DH, AUTH, None)
    again = await wired.push.register(PAT2, ENDPOINT, P256DH, AUTH, None)  # a shared browser

    assert again.id == first.id
    [row] = db.tables.browsers.values()
    assert row.patient_id == "p2"  # the browser belongs to who registered it last
    assert [(who, patient) for who, _, _, patient in db.audited()] == [
        ("patient:p1", "p1"),
        ("patient:p2", "p2"),
        ("patient:p2", "p1"),
    ]


async def test_only_a_signed_in_patient_manages_a_browser_and_refusals_are_recorded() -> None:
    db, wired = registry()
    with pytest.raises(Forbidden):
        await wired.push.register(DESK, ENDPOINT, P256DH, AUTH, None)
    with pytest.raises(Forbidden):
        await wired.push.key(DESK)
    with pytest.raises(Unauthenticated):
        await wired.push.unregister(ANONYMOUS, ENDPOINT)
    assert [(who, action) for who, action, _ in db.trail.denied] == [
        ("desk", "register_push_subscription"),
        ("desk", "read_push_key"),
    ]  # an anonymous caller's refusal reaches no data: not recorded
    assert db.tables.browsers == {}
    assert db.audited() == []


async def test_without_a_vapid_key_nothing_is_registered_but_removal_still_works() -> None:
    db, wired = registry(public_key=None)
    with pytest.raises(PushNotConfigured):
        await wired.push.key(PAT1)
    with pytest.raises(PushNotConfigured):
        await wired.push.register(PAT1, ENDPOINT, P256DH, AUTH, None)
    assert db.tables.browsers == {}

    # A browser registered while push was configured, on the same database.
    configured = db.wire(FixedClock(NOW), CATALOG, {}, push_public_key=KEY)
    await configured.push.register(PAT1, ENDPOINT, P256DH, AUTH, None)
    await wired.push.unregister(PAT1, ENDPOINT)
    assert db.tables.browsers == {}


async def test_a_malformed_subscription_is_refused_naming_the_field() -> None:
    db, wired = registry()
    with pytest.raises(InvalidRequest) as refused:
        await wired.push.register(PAT1, ENDPOINT, P256DH, "short", None)
    assert refused.value.extra["field"] == "keys.auth"
    with pytest.raises(InvalidRequest) as local:
        await wired.push.register(PAT1, "http://10.0.0.1/push", P256DH, AUTH, None)
    assert local.value.extra["field"] == "endpoint"
    assert db.tables.browsers == {}


async def test_removing_needs_the_endpoint_and_touches_only_the_patients_own() -> None:
    db, wired = registry()
    await wired.push.register(PAT1, ENDPOINT, P256DH, AUTH, None)
    with pytest.raises(InvalidRequest, match="endpoint"):
        await wired.push.unregister(PAT1, None)
    await wired.push.unregister(PAT2, ENDPOINT)  # not theirs: nothing happens, nothing audited
    assert len(db.tables.browsers) == 1

    await wired.push.unregister(PAT1, ENDPOINT)
    assert db.tables.browsers == {}
    assert [action for _, action, _, _ in db.audited()] == [
        "register_push_subscription",
        "delete_push_subscription",
    ]


async def test_registering_after_a_withdrawal_is_a_new_consent() -> None:
    """The plan reads when the newest browser was registered (`push_since`)."""
    db, wired = registry()
    await wired.push.register(PAT1, ENDPOINT, P256DH, AUTH, None)
    later = db.wire(FixedClock(NOW + timedelta(days=1)), CATALOG, {}, push_public_key=KEY)
    await later.push.register(PAT1, ENDPOINT + "2", P256DH, AUTH, None)
    async with db.uow.reading() as uow:
        assert await uow.push.newest("p1") == NOW + timedelta(days=1)
        assert await uow.push.newest("p2") is None


async def test_a_deidentified_patients_browsers_are_forgotten() -> None:
    db, wired = registry()
    await wired.push.register(PAT1, ENDPOINT, P256DH, AUTH, None)
    await wired.push.register(PAT2, ENDPOINT + "2", P256DH, AUTH, None)
    payload = {"patient_id": "p1"}
    event = Envelope(str(uuid.uuid4()), "patient.deidentified", 1, NOW, "patient", "p1", payload)
    await wired.erasure.handle(event)
    assert [r.patient_id for r in db.tables.browsers.values()] == ["p2"]
