"""The network a client address stands for, when counting what "one client" may do.

An IPv6 host is normally given a whole /64 and picks addresses inside it at will (privacy
addresses rotate on their own), so counting per IPv6 address would hand one host 2^64
fresh budgets. Counting is therefore per /64 for IPv6, per address for IPv4; an IPv4
address written as IPv6 (`::ffff:a.b.c.d`) counts as the IPv4 address it is.
"""

from __future__ import annotations

import ipaddress

UNKNOWN = "unknown"
IPV6_PREFIX = 64


def client_network(address: str | None) -> str:
    """`203.0.113.7` → `203.0.113.7`; `2001:db8:1:2:a:b:c:d` → `2001:db8:1:2::/64`.

    Anything that is not an IP address (a test client's name, a Unix socket) is kept as
    given, cut to 64 characters; no address at all is `unknown`."""
    if not address:
        return UNKNOWN
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)
