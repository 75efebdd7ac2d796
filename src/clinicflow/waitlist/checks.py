"""Checks of a join or a change against the clinic's catalog and the contact given; each
problem names the field to change."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from clinicflow.catalog import Catalog, Service
from clinicflow.waitlist.domain import channels as ch
from clinicflow.waitlist.errors import invalid

Problems = list[tuple[str, str]]


def new_token() -> tuple[str, str]:
    """A private link token (shown once) and the SHA-256 that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def service_for(catalog: Catalog, key: str) -> tuple[Service | None, Problems]:
    service = catalog.services.get(key)
    if service is None:
        keys = ", ".join(catalog.services)
        return None, [("service", f"no service {key!r}; choose one of {keys}")]
    if not service.active and not service.waitlist:
        return None, [("service", f"{key} is not offered at present and keeps no waitlist")]
    return service, []


def practitioner_problems(service: Service | None, practitioner: str | None) -> Problems:
    if service is None or practitioner is None or practitioner in service.calendars:
        return []
    if not service.calendars:
        return [("preferred_practitioner", f"no practitioner offers {service.key} yet; leave "
                 "it out")]  # fmt: skip
    offered = ", ".join(service.calendars)
    return [("preferred_practitioner", f"{practitioner!r} does not offer {service.key}; "
             f"choose one of {offered}, or leave it out")]  # fmt: skip


def channel_values(
    current: Mapping[str, Any],
    given: Mapping[str, Any],
    has_email: bool,
    has_phone: bool,
    now: datetime,
) -> dict[str, Any]:
    """The consent record after a join or a change. `given` may hold `channels` and
    `sms_consent`; withdrawing SMS consent alone drops SMS from the channels."""
    before = ch.chosen(current)
    wanted: Sequence[str]
    if "channels" in given and given["channels"] is not None:
        wanted = list(dict.fromkeys(given["channels"]))
    elif not current:
        wanted = ch.default_channels(has_email, has_phone)
    else:
        wanted = before
    consent = bool(given.get("sms_consent", "sms" in before))
    if given.get("sms_consent") is False and "channels" not in given:
        wanted = [c for c in wanted if c != "sms"]
    found = ch.problems(wanted, has_email, has_phone, consent)
    if found:
        raise invalid(found)
    return ch.consent(current, wanted, now)
