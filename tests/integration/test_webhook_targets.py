"""Webhooks cannot be aimed at the server's own network (server-side request forgery).

Subscriptions are refused unless they are https on a public address; and every delivery
resolves the name again and connects to the address it checked, so a name that now resolves
to a private address (DNS rebinding) gets nothing. Where a test needs a name to resolve to a
chosen address, `Dns` stands in for the DNS server: the network edge, as the fake receivers
stand in for the receivers.
"""

from __future__ import annotations

import ssl
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from clinicflow.bootstrap import Container
from clinicflow.bootstrap.webhooks import Webhooks, build_webhooks
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import FixedClock
from clinicflow.webhooks.commands import DeliveryFilter
from clinicflow.webhooks.domain.targets import TargetPolicy
from clinicflow.webhooks.errors import InvalidSubscription
from support.api import assert_problem, booking
from support.certificates import self_signed
from support.fake_receiver import WebhookReceiver
from support.fake_webhooks import Dns
from support.notifications import envelope

ADMIN = Actor(kind="user", id="root-id", role=Role.ADMIN)
PUBLIC = "93.184.215.14"  # a public (global) address; nothing is ever sent to it here


@pytest.fixture
def dns() -> Dns:
    return Dns()


def webhooks_with(
    container: Container, clock: FixedClock, policy: TargetPolicy, dns: Dns
) -> Webhooks:
    return build_webhooks(
        db=container.db,
        clock=clock,
        keys=container.keys,
        http=container.http,
        targets=policy,
        resolver=dns.resolve,
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:{port}/hooks", "must use https"),
        ("https://127.0.0.1:{port}/hooks", "a loopback address"),
        ("https://10.0.0.5/hooks", "a private address"),
        ("https://169.254.169.254/latest/meta-data/", "the cloud metadata address"),
        ("https://[::ffff:10.0.0.5]/hooks", "a private address"),
        ("https://[::1]/hooks", "a loopback address"),
        ("https://0.0.0.0/hooks", "an unspecified address"),
        ("https://224.0.0.1/hooks", "a multicast address"),
        ("https://localhost:{port}/hooks", "localhost resolves to a loopback address"),
    ],
)
async def test_subscriptions_to_internal_addresses_are_refused_naming_the_url(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    receiver: WebhookReceiver,
    url: str,
    says: str,
) -> None:
    port = httpx.URL(receiver.url).port  # a receiver really listens there
    body = {"url": url.format(port=port), "event_types": ["*"]}
    refused = await client.post("/v1/webhooks/subscriptions", json=body, headers=admin)

    problem = assert_problem(refused, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["url"]
    assert says in problem["detail"]
    listed = await client.get("/v1/webhooks/subscriptions", headers=admin)
    assert listed.json()["subscriptions"] == []


async def test_changing_a_subscription_to_an_internal_address_is_refused(
    container: Container, clock: FixedClock, dns: Dns
) -> None:
    dns.records["crm.example.com"] = PUBLIC
    webhooks = webhooks_with(container, clock, TargetPolicy(), dns)
    made = await webhooks.service.create(ADMIN, "https://crm.example.com/hooks", ["*"], None)

    dns.records["crm.example.com"] = "192.168.1.20"
    with pytest.raises(InvalidSubscription, match=r"crm\.example\.com resolves to a private"):
        await webhooks.service.update(ADMIN, made.subscription.id, {"url": made.subscription.url})


async def test_a_name_that_resolves_to_a_private_address_by_delivery_time_gets_nothing(
    client: httpx.AsyncClient, container: Container, clock: FixedClock, dns: Dns
) -> None:
    dns.records["crm.example.com"] = PUBLIC  # public when the admin subscribes
    webhooks = webhooks_with(container, clock, TargetPolicy(), dns)
    await webhooks.service.create(ADMIN, "https://crm.example.com/hooks", ["*"], None)
    visit = (await client.post("/v1/bookings", json=booking())).json()

    dns.records["crm.example.com"] = "10.0.0.5"  # rebound to an internal service
    await webhooks.fanout.handle(await envelope(container, "booking.created", visit["id"]))

    [delivery] = await webhooks.service.list_deliveries(ADMIN, DeliveryFilter())
    assert delivery.status == "pending"  # retried on schedule, checked again each time
    assert delivery.last_status_code is None
    assert delivery.last_error == (
        "refused: crm.example.com resolves to a private address; "
        "webhooks are sent only to public addresses"
    )
    assert dns.asked == ["crm.example.com", "crm.example.com"]


async def test_a_delivery_connects_to_the_address_it_checked_keeping_the_name_for_host(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    dns: Dns,
    receiver: WebhookReceiver,
) -> None:
    """The name exists only in the test's DNS: had the client resolved it again by itself,
    nothing would arrive. Loopback is allowed here explicitly, as in development."""
    port = httpx.URL(receiver.url).port
    dns.records["crm.example.com"] = "127.0.0.1"
    development = TargetPolicy(allow_http=True, allowed_networks=(ip_network("127.0.0.1/32"),))
    webhooks = webhooks_with(container, clock, development, dns)
    url = f"http://crm.example.com:{port}/hooks/clinicflow"
    await webhooks.service.create(ADMIN, url, ["booking.created"], None)
    visit = (await client.post("/v1/bookings", json=booking())).json()

    await webhooks.fanout.handle(await envelope(container, "booking.created", visit["id"]))

    [got] = receiver.received
    assert got.header("Host") == f"crm.example.com:{port}"
    [delivery] = await webhooks.service.list_deliveries(ADMIN, DeliveryFilter())
    assert (delivery.status, delivery.last_status_code) == ("delivered", 200)


async def test_an_https_delivery_to_the_checked_address_still_verifies_the_name(
    client: httpx.AsyncClient,
    container: Container,
    clock: FixedClock,
    dns: Dns,
    tmp_path: Path,
) -> None:
    """The receiver's certificate names crm.example.com only: the delivery connects to the
    checked address, yet sends the name in SNI and verifies the certificate against it."""
    cert, key = self_signed(tmp_path, "crm.example.com", x509.DNSName("crm.example.com"))
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    asked_for: list[str | None] = []

    def sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        asked_for.append(name)

    server_side.sni_callback = sni  # type: ignore[assignment]
    tls_receiver = WebhookReceiver(clock.now)
    listening = tls_receiver.server.server
    listening.socket = server_side.wrap_socket(listening.socket, server_side=True)
    tls_receiver.start()
    port = listening.server_address[1]
    dns.records["crm.example.com"] = "127.0.0.1"
    policy = TargetPolicy(allowed_networks=(ip_network("127.0.0.1/32"),))
    try:
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert)) as http:
            webhooks = build_webhooks(
                db=container.db,
                clock=clock,
                keys=container.keys,
                http=http,
                targets=policy,
                resolver=dns.resolve,
            )
            url = f"https://crm.example.com:{port}/hooks"
            await webhooks.service.create(ADMIN, url, ["booking.created"], None)
            visit = (await client.post("/v1/bookings", json=booking())).json()
            await webhooks.fanout.handle(await envelope(container, "booking.created", visit["id"]))
    finally:
        tls_receiver.stop()

    [delivery] = await webhooks.service.list_deliveries(ADMIN, DeliveryFilter())
    assert (delivery.status, delivery.last_status_code) == ("delivered", 200), delivery
    assert asked_for == ["crm.example.com"]
    [got] = tls_receiver.received
    assert got.header("Host") == f"crm.example.com:{port}"
