"""Idempotent bookings.

A client may send `Idempotency-Key`: the same key with the same request (same caller) gives
the booking made the first time; with a different request it is refused. The request is
remembered as a keyed fingerprint, so the stored hash of a body with patient details
reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC

from clinicflow.booking import errors
from clinicflow.booking.commands import BookRequest


class IdempotencyKeys:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def fingerprint(self, req: BookRequest) -> str:
        slot = req.slot
        body = json.dumps(
            {
                "slot": [
                    slot.service,
                    slot.visit_type,
                    slot.duration,
                    slot.start.astimezone(UTC).isoformat(),
                    slot.practitioner,
                ],
                "patient": (
                    [p.first_name, p.last_name, p.email, p.phone]
                    if (p := req.patient) is not None
                    else None
                ),
                "hold_id": req.hold_id,
            }
        )
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def check_same_request(stored: str, fingerprint: str) -> None:
        """A key already used is replayed only for the request it was first sent with."""
        if not hmac.compare_digest(stored, fingerprint):
            raise errors.IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request; "
                "send a new key for a new booking"
            )
