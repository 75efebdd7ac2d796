"""The message pipeline's errors."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """Some messages of an event could not be sent; raised so the bus delivers it again (the
    failures are on the message rows, with their reasons)."""
