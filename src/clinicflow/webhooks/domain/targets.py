"""Where the server may send webhooks: receivers on public addresses only.

An administrator names a URL, and the server then POSTs to it: without a check, that is a way
to make the server call internal services (server-side request forgery). So every address a
receiver's name resolves to must be public — not loopback, link-local (which holds the cloud
metadata service, 169.254.169.254), private, unspecified, multicast or reserved. The check
runs when a subscription is made or changed, and again before every delivery; the delivery
then connects to exactly the address that was checked (the URL's host is kept for the Host
header and TLS), so a name that resolves elsewhere by the time of sending (DNS rebinding)
reaches nothing.

This module judges the addresses a name resolved to; resolving it (DNS, the network) and
connecting to the checked address are the delivery job's (`webhooks/jobs.py`).

`allowed_networks` exempts networks explicitly (development: a receiver on this machine).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
METADATA = ipaddress.ip_address("169.254.169.254")


class TargetRefused(ValueError):
    """The message says what to change; it names the host, never the resolved address."""


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    allow_http: bool = False  # development only
    allowed_networks: tuple[Network, ...] = ()

    def checked(self, host: str, found: Sequence[str]) -> IPAddress:
        """The address to connect to, of those `host` resolved to (as getaddrinfo gives
        them), when every one is allowed; raises TargetRefused otherwise."""
        addresses = [_plain(ipaddress.ip_address(a.split("%", 1)[0])) for a in found]
        if not addresses:
            raise unresolved(host)
        for address in addresses:
            why = self.refusal(address)
            if why is not None:
                raise TargetRefused(
                    f"{host} resolves to {why}; webhooks are sent only to public addresses"
                )
        return addresses[0]

    def refusal(self, address: IPAddress) -> str | None:
        """What kind of address this is when it must not be called, else None."""
        if any(address in net for net in self.allowed_networks):
            return None
        for kind, test in _NOT_PUBLIC:
            if test(address):
                return kind
        return None


def unresolved(host: str) -> TargetRefused:
    return TargetRefused(f"{host} does not resolve; give a host name with a public address")


def _plain(address: IPAddress) -> IPAddress:
    # ::ffff:10.0.0.1 reaches 10.0.0.1; judge it as that.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_NOT_PUBLIC: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("the cloud metadata address", lambda a: a == METADATA),
    ("a loopback address", lambda a: a.is_loopback),
    ("an unspecified address", lambda a: a.is_unspecified),
    ("a link-local address", lambda a: a.is_link_local),
    ("a multicast address", lambda a: a.is_multicast),
    ("a private address", lambda a: a.is_private),
    ("a reserved address", lambda a: a.is_reserved or not a.is_global),
)
