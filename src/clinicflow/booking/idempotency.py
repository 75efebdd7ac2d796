"""Idempotent bookings and retried races.

A client may send `Idempotency-Key`: the same key with the same request (same caller) gives
the booking made the first time; with a different request it is refused. The request is
remembered as a keyed fingerprint, so the stored hash of a body with patient details
reveals nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.booking import errors, queries
from clinicflow.booking.commands import BookRequest
from clinicflow.booking.tables import idempotency_keys
from clinicflow.booking.views import BookingView

T = TypeVar("T")


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

    async def replay(
        self, conn: AsyncConnection, scope: str, key: str, fingerprint: str, now: datetime
    ) -> BookingView | None:
        stored = await queries.idempotent_booking(conn, scope, key)
        if stored is None:
            return None
        request_hash, row = stored
        if not hmac.compare_digest(request_hash, fingerprint):
            raise errors.IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request; "
                "send a new key for a new booking"
            )
        return BookingView.of(row, now)

    async def remember(
        self,
        conn: AsyncConnection,
        scope: str,
        key: str,
        fingerprint: str,
        booking_id: str,
        now: datetime,
    ) -> None:
        await conn.execute(
            insert(idempotency_keys).values(
                client_id=scope,
                key=key,
                request_hash=fingerprint,
                booking_id=booking_id,
                created_at=now,
            )
        )


# PostgreSQL's "try again" failures: deadlock_detected, serialization_failure.
_TRANSIENT = frozenset({"40P01", "40001"})


async def retrying(retries: int, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt` again when a concurrent writer won (PostgreSQL's constraints refused
    our row: the next attempt sees the winner and answers as the checks would have), or when
    PostgreSQL chose this transaction to break a deadlock or a serialization conflict (after
    a random pause, so the ones it broke do not meet again at once)."""
    for n in range(retries + 1):
        try:
            return await attempt()
        except IntegrityError as exc:
            if n < retries:
                continue
            raise _conflict(exc) from exc
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in _TRANSIENT:
                raise
            if n == retries:
                raise errors.BookingBusy(
                    "too many bookings are being made for this time right now; "
                    "try again in a moment",
                    retry_after=1,
                ) from exc
            await asyncio.sleep(random.uniform(0.005, 0.02 * 2**n))  # noqa: S311 (jitter)
    raise AssertionError("unreachable")


def _conflict(exc: IntegrityError) -> Exception:
    message = str(exc.orig)
    if "booking_patient_no_overlap" in message:
        return errors.PatientUnavailable(
            "this patient already has a visit at that time; choose another time"
        )
    if "booking_practitioner_no_overlap" in message:
        return errors.SlotUnavailable(
            "another booking took this slot at the same moment; "
            "GET /v1/availability lists the open slots"
        )
    return exc
