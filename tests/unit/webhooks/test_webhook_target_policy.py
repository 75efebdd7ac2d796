"""Which addresses a webhook may be sent to: public ones only, unless a network is exempted."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address, ip_network

import pytest

from clinicflow.webhooks.domain.targets import TargetPolicy, TargetRefused
from clinicflow.webhooks.jobs import resolve_target


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.0.10", "a private address"),
        ("fd00:ec2::254", "a private address"),  # a cloud's IPv6 metadata service
        ("169.254.169.254", "the cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.251", "a multicast address"),
        ("100.64.0.1", "a reserved address"),  # carrier-grade NAT, not the internet
        ("240.0.0.1", "a private address"),
    ],
)
def test_internal_addresses_are_refused_by_kind(address: str, kind: str) -> None:
    assert TargetPolicy().refusal(ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:85e5", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert TargetPolicy().refusal(ip_address(address)) is None


def test_an_exempted_network_is_allowed_and_nothing_else() -> None:
    policy = TargetPolicy(allowed_networks=(ip_network("10.20.0.0/16"),))
    assert policy.refusal(ip_address("10.20.3.4")) is None
    assert policy.refusal(ip_address("10.21.3.4")) == "a private address"


async def test_a_name_is_refused_if_any_of_its_addresses_is_internal() -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        return ["93.184.215.14", "::ffff:10.0.0.5"]

    with pytest.raises(TargetRefused, match="a private address"):
        await resolve_target("https://crm.example.com/hooks", TargetPolicy(), resolver)


async def test_the_checked_address_is_what_is_connected_to_with_the_name_kept() -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        assert (host, port) == ("crm.example.com", 8443)
        return ["2606:4700::6810:85e5"]

    target = await resolve_target("https://crm.example.com:8443/h?a=1", TargetPolicy(), resolver)
    assert str(target.pinned_url) == "https://[2606:4700::6810:85e5]:8443/h?a=1"
    assert target.host_header == "crm.example.com:8443"
    assert target.extensions == {"sni_hostname": "crm.example.com"}


async def test_a_name_that_does_not_resolve_is_refused_naming_it() -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        raise OSError("no such name")

    async def nothing(host: str, port: int) -> Sequence[str]:
        return []

    for given in (resolver, nothing):
        with pytest.raises(TargetRefused, match=r"crm\.example\.com does not resolve"):
            await resolve_target("https://crm.example.com/hooks", TargetPolicy(), given)
