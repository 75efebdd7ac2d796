"""Whether a URL's host is this machine: a loopback IP address, or one of the names a caller
takes for it."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection


def is_loopback(host: str, names: Collection[str]) -> bool:
    """`127.0.0.1`, `::1` and the like, or `host` among `names` (compared lower-cased)."""
    if host.lower() in names:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
