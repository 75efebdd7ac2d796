"""Web Push without I/O: when a push is planned, what it says, what a browser's subscription
must look like, and how one message fans out to a patient's browsers."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from clinicflow.catalog.domain import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.notifications.channels.service import PushChannel
from clinicflow.notifications.domain.plan import NO_CONSENT, Contact, plan
from clinicflow.notifications.domain.push import (
    PushSubscription,
    checked_subscription,
    endpoint_hash,
)
from clinicflow.notifications.domain.render import Rendered, Renderer, RenderOptions
from clinicflow.notifications.domain.visit import Visit
from clinicflow.notifications.ports import (
    MessageRejected,
    Outgoing,
    ProviderUnavailable,
    SendResult,
    SubscriptionGone,
)
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import InvalidRequest
from support.fake_notifications import FakeNotifications
from support.fake_notifications_tables import BrowserRow

CLINIC_YAML = Path(__file__).resolve().parents[3] / "config" / "clinic.yaml"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
START = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 10:00 in Chicago
VISIT = Visit("b-123", "alternative_medicine", "initial", "doctor1", START, START)
ENDPOINT = "https://push.example.net/send/abc123"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_key() -> bytes:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


# --- planning ------------------------------------------------------------------------------


def templates(contact: Contact, kind: str = "confirmation") -> dict[str, str | None]:
    return {p.template: p.skip_reason for p in plan(kind, contact)}


def test_a_patient_without_a_registered_browser_gets_no_push_planned() -> None:
    contact = Contact("pat@example.com", None, {})
    assert set(templates(contact)) == {"confirmation.email", "confirmation.sms"}


def test_a_registered_browser_is_the_opt_in_for_push() -> None:
    contact = Contact("pat@example.com", None, {}, push_since=NOW)
    [push] = [p for p in plan("reminder", contact) if p.channel == "push"]
    assert (push.template, push.address, push.skip_reason) == ("reminder.push", None, None)


def test_a_push_withdrawal_wins_over_browsers_registered_before_it() -> None:
    withdrawn = {"push": {"opt_in": False, "withdrawn_at": NOW.isoformat()}}
    before = Contact(None, None, withdrawn, push_since=NOW - timedelta(days=1))
    after = Contact(None, None, withdrawn, push_since=NOW + timedelta(minutes=1))
    assert templates(before)["confirmation.push"] == NO_CONSENT
    assert templates(after)["confirmation.push"] is None


def test_a_withdrawal_without_a_zone_is_read_as_utc() -> None:
    withdrawn = {"push": {"opt_in": False, "withdrawn_at": "2026-11-24T15:00:00"}}
    contact = Contact(None, None, withdrawn, push_since=NOW - timedelta(seconds=1))
    assert templates(contact)["confirmation.push"] == NO_CONSENT


# --- what the notification says ------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CLINIC_YAML)


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("confirmation", "visit booked"),
        ("rescheduled", "visit moved"),
        ("cancelled", "visit cancelled"),
        ("reminder", "visit reminder"),
    ],
)
def test_every_kind_renders_a_push_payload_with_title_body_link_and_tag(
    catalog: Catalog, kind: str, title: str
) -> None:
    out = Renderer(catalog, RenderOptions("https://clinic.example/")).render(f"{kind}.push", VISIT)
    assert out.data is not None
    assert out.data == {
        "title": f"Riverbend Wellness Clinic: {title}",
        "body": out.text,
        "url": "https://clinic.example/me/visits/b-123",
        "tag": "b-123",
    }
    assert out.subject == out.data["title"]
    assert "Wednesday 25 November 2026 at 10:00" in out.text


def test_a_push_names_no_service_or_practitioner_unless_sms_may(catalog: Catalog) -> None:
    quiet = Renderer(catalog, RenderOptions("https://clinic.example"))
    allowed = Renderer(catalog, RenderOptions("https://clinic.example", sms_service_name=True))
    text = quiet.render("confirmation.push", VISIT).text
    assert "Alternative medicine" not in text
    assert "Marsh" not in text
    assert "(Alternative medicine)" in allowed.render("confirmation.push", VISIT).text


def test_quotes_and_markup_in_names_stay_valid_json(catalog: Catalog) -> None:
    odd = replace(catalog, clinic=replace(catalog.clinic, name='The "Best" <Clinic> & Spa'))
    out = Renderer(odd, RenderOptions("https://clinic.example")).render("cancelled.push", VISIT)
    assert out.subject == 'The "Best" <Clinic> & Spa: visit cancelled'


# --- what a browser's subscription must look like -------------------------------------------


def test_a_browser_subscription_is_accepted_and_its_keys_normalized() -> None:
    point, secret = browser_key(), bytes(range(16))
    padded = base64.urlsafe_b64encode(secret).decode()  # "…==": some libraries pad
    sub = checked_subscription(ENDPOINT, b64url(point), padded, allow_loopback=False)
    assert sub == PushSubscription(ENDPOINT, b64url(point), b64url(secret))


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth", "field", "says"),
    [
        ("http://push.example.net/x", None, None, "endpoint", "https"),
        ("https://127.0.0.1:8443/x", None, None, "endpoint", "own machine"),
        ("http://localhost/x", None, None, "endpoint", "own machine"),
        ("push.example.net/x", None, None, "endpoint", "absolute https URL"),
        ("https://user:pw@push.example.net/x", None, None, "endpoint", "without user"),
        (ENDPOINT, b64url(b"\x04" + bytes(31)), None, "keys.p256dh", "65 bytes"),
        (ENDPOINT, b64url(b"\x04" + bytes(64)), None, "keys.p256dh", "P-256 curve"),
        (ENDPOINT, "not base64!", None, "keys.p256dh", "base64url"),
        (ENDPOINT, None, b64url(bytes(8)), "keys.auth", "16-byte"),
        (ENDPOINT, None, "a+b/c", "keys.auth", "base64url"),
    ],
)
def test_a_malformed_subscription_is_refused_saying_what_to_change(
    endpoint: str, p256dh: str | None, auth: str | None, field: str, says: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        checked_subscription(
            endpoint,
            p256dh or b64url(browser_key()),
            auth or b64url(bytes(16)),
            allow_loopback=False,
        )
    assert caught.value.extra == {"field": field}
    assert says in caught.value.detail


def test_loopback_endpoints_over_http_are_accepted_only_where_allowed() -> None:
    sub = checked_subscription(
        "http://127.0.0.1:9000/push/1",
        b64url(browser_key()),
        b64url(bytes(16)),
        allow_loopback=True,
    )
    assert sub.endpoint == "http://127.0.0.1:9000/push/1"
    with pytest.raises(InvalidRequest, match="https"):
        checked_subscription(
            "http://push.example.net/x",
            b64url(browser_key()),
            b64url(bytes(16)),
            allow_loopback=True,
        )


# --- fanning one message out to the patient's browsers --------------------------------------


def browsers(*ids: str) -> FakeNotifications:
    """Patient p1's registered browsers `ids`, oldest first, in an in-memory database."""
    db = FakeNotifications()
    for n, i in enumerate(ids):
        subscription = PushSubscription(f"https://p.example/{i}", "k", "a")
        registered = NOW - timedelta(days=len(ids) - n)
        row = BrowserRow(i, "p1", subscription, None, registered, registered)
        db.tables.browsers[endpoint_hash(subscription.endpoint)] = row
    return db


def channel(db: FakeNotifications, service: Service, ttl: int = 60) -> PushChannel:
    return PushChannel(sender=service, uow=db.uow, clock=FixedClock(NOW), ttl=ttl)


def left(db: FakeNotifications) -> list[str]:
    return [r.id for r in db.tables.browsers.values()]


def touched(db: FakeNotifications) -> list[str]:
    return [r.id for r in db.tables.browsers.values() if r.last_used_at == NOW]


class Service:
    """Answers per browser id: "ok", "gone" or "down"."""

    def __init__(self, **answers: str) -> None:
        self.answers = answers
        self.sent: list[tuple[str, bytes, int]] = []

    async def send_push(
        self, subscription: PushSubscription, payload: bytes, ttl: int
    ) -> SendResult:
        device = subscription.endpoint.rsplit("/", 1)[1]
        answer = self.answers[device]
        if answer == "gone":
            raise SubscriptionGone("webpush", "subscription answered 410", code="410")
        if answer == "down":
            raise ProviderUnavailable("webpush", "push service answered 503")
        self.sent.append((device, payload, ttl))
        return SendResult("webpush", f"https://p.example/m/{device}", "accepted")


def outgoing() -> Outgoing:
    data = {"title": "T", "body": "B", "url": "https://c.example/bookings/b", "tag": "b"}
    return Outgoing("", Rendered("T", "B", data=data), patient_id="p1")


async def test_every_browser_gets_the_payload_and_the_message_counts_as_sent() -> None:
    db, service = browsers("d1", "d2"), Service(d1="ok", d2="ok")
    result = await channel(db, service, ttl=600).deliver(outgoing())
    assert [d for d, _, _ in service.sent] == ["d1", "d2"]
    assert {json.loads(p)["title"] for _, p, _ in service.sent} == {"T"}
    assert {ttl for _, _, ttl in service.sent} == {600}
    assert (result.provider, result.provider_id, result.status) == ("webpush", None, "accepted")
    assert touched(db) == ["d1", "d2"]
    assert db.ledger.commits == 1  # forgotten and used in one short transaction, after


async def test_a_gone_browser_is_forgotten_while_another_still_gets_it() -> None:
    db, service = browsers("d1", "d2"), Service(d1="gone", d2="ok")
    await channel(db, service).deliver(outgoing())
    assert left(db) == ["d2"]
    assert touched(db) == ["d2"]


async def test_when_every_browser_is_gone_the_message_fails_saying_so() -> None:
    db = browsers("d1", "d2")
    with pytest.raises(SubscriptionGone, match="2 gone"):
        await channel(db, Service(d1="gone", d2="gone")).deliver(outgoing())
    assert left(db) == []


async def test_an_outage_fails_the_message_for_a_retry_and_still_forgets_gone_ones() -> None:
    db = browsers("d1", "d2")
    with pytest.raises(ProviderUnavailable):
        await channel(db, Service(d1="gone", d2="down")).deliver(outgoing())
    assert left(db) == ["d2"]
    assert touched(db) == []


async def test_no_browser_left_at_sending_time_fails_the_message() -> None:
    db = browsers()
    with pytest.raises(MessageRejected, match="no push subscription left"):
        await channel(db, Service()).deliver(outgoing())
    assert db.ledger.commits == 0  # nothing to forget or mark: no write at all
