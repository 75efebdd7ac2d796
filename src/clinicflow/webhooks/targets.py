"""Where the server may send webhooks: receivers on public addresses only.

An administrator names a URL, and the server then POSTs to it: without a check, that is a way
to make the server call internal services (server-side request forgery). So every address a
receiver's name resolves to must be public — not loopback, link-local (which holds the cloud
metadata service, 169.254.169.254), private, unspecified, multicast or reserved. The check
runs when a subscription is made or changed, and again before every delivery; the delivery
then connects to exactly the address that was checked (the URL's host is kept for the Host
header and TLS), so a name that resolves elsewhere by the time of sending (DNS rebinding)
reaches nothing.

`allowed_networks` exempts networks explicitly (development: a receiver on this machine).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import httpx

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
# host, port -> the addresses the name resolves to (as getaddrinfo gives them)
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
METADATA = ipaddress.ip_address("169.254.169.254")


class TargetRefused(ValueError):
    """The message says what to change; it names the host, never the resolved address."""


async def system_resolver(host: str, port: int) -> Sequence[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Target:
    """A checked receiver: connect to `pinned_url` (the checked address), say `host_header`."""

    url: httpx.URL
    address: IPAddress

    @property
    def pinned_url(self) -> httpx.URL:
        return self.url.copy_with(host=str(self.address))

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def extensions(self) -> dict[str, str]:
        # TLS: the certificate is checked against the name, and the name goes in SNI.
        return {"sni_hostname": self.url.host} if self.url.scheme == "https" else {}


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    allow_http: bool = False  # development only
    allowed_networks: tuple[Network, ...] = ()
    resolver: Resolver = system_resolver

    async def resolve(self, url: str) -> Target:
        """The receiver at `url`, every address of its name checked; raises TargetRefused."""
        parsed = httpx.URL(url)
        host = parsed.host
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            found = await self.resolver(host, port)
        except OSError:
            raise TargetRefused(
                f"{host} does not resolve; give a host name with a public address"
            ) from None
        addresses = [_plain(ipaddress.ip_address(a.split("%", 1)[0])) for a in found]
        if not addresses:
            raise TargetRefused(f"{host} does not resolve; give a host name with a public address")
        for address in addresses:
            why = self.refusal(address)
            if why is not None:
                raise TargetRefused(
                    f"{host} resolves to {why}; webhooks are sent only to public addresses"
                )
        return Target(parsed, addresses[0])

    def refusal(self, address: IPAddress) -> str | None:
        """What kind of address this is when it must not be called, else None."""
        if any(address in net for net in self.allowed_networks):
            return None
        for kind, test in _NOT_PUBLIC:
            if test(address):
                return kind
        return None


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
