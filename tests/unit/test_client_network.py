"""Counting per client network: one IPv6 host roams its /64, so the /64 is the client."""

from __future__ import annotations

import pytest

from clinicflow.gateway.ratelimit import RateLimiter
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.client_network import client_network


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:a:b:c:d", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:198.51.100.9", "198.51.100.9"),
        ("::1", "::/64"),
        ("testclient", "testclient"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_an_address_counts_as_its_network(address: str | None, network: str) -> None:
    assert client_network(address) == network


def test_two_hosts_of_one_ipv6_64_are_one_client_and_the_next_64_is_another() -> None:
    same = {client_network(f"2001:db8:0:7:{n:x}::{n:x}") for n in range(1, 200)}
    assert same == {"2001:db8:0:7::/64"}
    assert client_network("2001:db8:0:8::1") != client_network("2001:db8:0:7::1")
    # IPv4 neighbours stay apart: a /24 is often many unrelated customers behind a provider.
    assert client_network("192.0.2.1") != client_network("192.0.2.2")


async def test_anonymous_rate_limits_are_shared_by_one_ipv6_64() -> None:
    limiter = RateLimiter({"anonymous": {"read": "2/minute"}}, key_prefix="test-client-network")

    async def allowed(ip: str) -> bool:
        return (await limiter.check(ANONYMOUS.at(ip, None), ip, "read")).allowed

    assert await allowed("2001:db8:0:7::1")
    assert await allowed("2001:db8:0:7::2")
    # A third address of the same /64 is the same client: its budget is spent.
    assert not await allowed("2001:db8:0:7:dead:beef:0:3")
    assert await allowed("2001:db8:0:8::1")
    assert await allowed("192.0.2.1")
