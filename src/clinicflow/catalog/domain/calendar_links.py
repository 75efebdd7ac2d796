"""A practitioner's own calendars that clinicflow reads busy time from (config/clinic.yaml,
under the practitioner): a CalDAV calendar and read-only ICS subscriptions. Passwords are
never in the file: CLINICFLOW_CALDAV_PASSWORDS holds them, by practitioner key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from clinicflow.catalog.domain.values import Invalid
from clinicflow.shared.loopback import is_loopback

CalDavRead = Literal["events", "freebusy"]
_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True, slots=True)
class CalDavLink:
    url: str  # the calendar collection, e.g. https://dav.example.com/calendars/elena/work/
    username: str | None = None
    read: CalDavRead = "events"  # docs/calendars.md "CalDAV": events or free-busy reports


def calendar_url(value: object) -> str:
    """An https address (webcal:// for a feed is https too); plain http only to this machine
    (a server beside clinicflow, or the tests'), as credentials and busy times cross it."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(
            f"must be the calendar's address, like https://dav.example.com/…; not {value!r}"
        )
    url = value.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("https", "webcal") and parts.hostname:
        return url
    if scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    if scheme == "http":
        raise Invalid(f"{url} is plain http; use its https address (http only for this machine)")
    raise Invalid(f"must be an https address, like https://dav.example.com/…; not {url!r}")


def read_mode(value: object) -> CalDavRead:
    if value == "events":
        return "events"
    if value == "freebusy":
        return "freebusy"
    raise Invalid(f"must be events (the default) or freebusy, not {value!r}")


def _is_loopback(host: str) -> bool:
    return is_loopback(host, _LOOPBACK_NAMES)
