"""Waitlist errors, mapped to problem+json by the gateway."""

from __future__ import annotations

from collections.abc import Sequence

from clinicflow.shared.errors import Conflict, InvalidRequest, NotFound
from clinicflow.waitlist.domain.links import why_closed


class EntryNotFound(NotFound, code="waitlist_entry_not_found"): ...


class EntryClosed(Conflict, code="waitlist_entry_closed"):
    """The entry has left the queue (booked, converted, withdrawn): it cannot change now."""


class InvalidEntry(InvalidRequest, code="validation_error"): ...


class ServiceNotReady(InvalidRequest, code="service_not_ready", title="Service cannot launch yet"):
    """A launch refused: the catalog still lacks what booking needs (each item named)."""


class AlreadyLive(Conflict, code="service_already_live", title="Service is already bookable"): ...


class LinkNotFound(NotFound, code="waitlist_link_not_found"): ...


class LinkClosed(Conflict, code="waitlist_link_closed", title="This link can no longer book"):
    """An invitation or offer that was claimed, lapsed, withdrawn or is being claimed."""


def no_such_link(kind: str) -> LinkNotFound:
    # One answer for a mistyped, unknown or malformed link: it reveals nothing.
    return LinkNotFound(
        f"no {kind} has this link; copy the whole link from the message the clinic sent you"
    )


def link_closed(kind: str, status: str) -> LinkClosed:
    return LinkClosed(f"this {kind} can no longer book: {why_closed(status)}", link_status=status)


def missing(entry_id: str) -> EntryNotFound:
    return EntryNotFound(f"no waitlist entry {entry_id!r}")


def invalid(found: Sequence[tuple[str, str]]) -> InvalidEntry:
    """One error naming every field to change."""
    detail = "; ".join(f"{field}: {message}" for field, message in found)
    errors = [{"field": field, "message": message} for field, message in found]
    return InvalidEntry(detail, errors=errors)


def no_link() -> EntryNotFound:
    # One answer for a mistyped, unknown or malformed link: it reveals nothing about entries.
    return EntryNotFound(
        "no waitlist entry has this link; copy the whole link from the message you got when "
        "you joined"
    )
