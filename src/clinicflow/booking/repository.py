"""Booking's unit of work and its repositories: SQL in, `Appointment`s out.

`SqlBookingUnitOfWork` opens one transaction (infra/unit_of_work.py) and builds on it the
appointments, the idempotency keys, the slot locks (with the keys this transaction holds,
kept through savepoints), and the ports that act in the same transaction: the patients'
match-or-create and the in-transaction event listeners (the visit history), each made by a
callable the composition root gives (`patients=`, `listeners=`). It also says, as the block
ends, what a database refusal meant: a concurrent writer won (`RaceLost`: a constraint
refused our row) or PostgreSQL broke a deadlock (`Deadlocked`), so the use cases retry
without knowing SQLAlchemy's errors.

The write path's statements are built once (bind parameters): SQLAlchemy caches the compiled
SQL, not the building, which costs more Python than the round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import alias

from clinicflow.booking.domain.appointment import Appointment, SlotTimes
from clinicflow.booking.domain.lifecycle import Status
from clinicflow.booking.errors import Deadlocked, PatientUnavailable, RaceLost, SlotContended
from clinicflow.booking.events import booking_event
from clinicflow.booking.ports import EventListener, PatientMatcher
from clinicflow.booking.queries import BookingNow, SqlAppointmentReads, booking_now, lapsed_before
from clinicflow.booking.tables import OCCUPYING, appointments, idempotency_keys
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import Transaction, TransactionClosed, UnitOfWork

a = appointments.c
k = idempotency_keys.c
_COLUMNS = tuple(c.name for c in appointments.c)  # `Appointment`'s fields, in order
# Ids per DELETE ... IN (...): well under every driver's bound-parameter limit.
CHUNK = 500


_INSERT = insert(appointments).returning(appointments)
_CONFIRM = (
    update(appointments)
    .where(a.id == bindparam("q_id"))
    .values(
        status=Status.CONFIRMED.value,
        patient_id=bindparam("b_patient"),
        hold_expires_at=None,
        updated_at=bindparam("b_now"),
    )
    .returning(appointments)
)
_MOVE = (
    update(appointments)
    .where(a.id == bindparam("q_id"))
    .values(
        practitioner=bindparam("b_practitioner"),
        duration_min=bindparam("b_duration"),
        start_at=bindparam("b_start"),
        end_at=bindparam("b_end"),
        block_start=bindparam("b_block_start"),
        block_end=bindparam("b_block_end"),
        updated_at=bindparam("b_now"),
    )
    .returning(appointments)
)
_SET_STATUS = (
    update(appointments)
    .where(a.id == bindparam("q_id"))
    .values(status=bindparam("b_status"), updated_at=bindparam("b_now"))
    .returning(appointments)
)
_CANCEL = (
    update(appointments)
    .where(a.id == bindparam("q_id"))
    .values(
        status=Status.CANCELLED.value,
        cancel_reason=bindparam("b_reason"),
        updated_at=bindparam("b_now"),
    )
    .returning(appointments)
)
_EXPIRE_STALE = (
    update(appointments)
    .where(a.practitioner == bindparam("q_practitioner"), a.status == Status.HELD.value)
    .where(
        a.hold_expires_at <= bindparam("q_now"),
        a.block_start < bindparam("q_hi"),
        a.block_end > bindparam("q_lo"),
    )
    .values(status=Status.EXPIRED.value, updated_at=bindparam("q_now"))
    .returning(appointments)
)
# FOR UPDATE: ignored by SQLite, whose writer is alone anyway.
_LAPSED_LOCKED = (
    select(a.id)
    .where(lapsed_before(bindparam("q_cutoff")))
    .order_by(a.created_at, a.id)
    .with_for_update()
)
_KEY = (
    select(k.request_hash, appointments)
    .join(appointments, a.id == k.booking_id)
    .where(k.client_id == bindparam("q_scope"), k.key == bindparam("q_key"))
)
_REMEMBER = insert(idempotency_keys)


class SqlAppointments(SqlAppointmentReads):
    """The appointments in the unit of work's transaction: the reads (queries.py), and the
    writes."""

    async def add(self, new: Appointment) -> Appointment:
        values = {name: getattr(new, name) for name in _COLUMNS}
        return Appointment(*(await self._conn.execute(_INSERT, values)).one())

    async def confirm_hold(self, hold_id: str, patient_id: str, now: datetime) -> Appointment:
        params = {"q_id": hold_id, "b_patient": patient_id, "b_now": now}
        return Appointment(*(await self._conn.execute(_CONFIRM, params)).one())

    async def move(self, booking_id: str, times: SlotTimes, now: datetime) -> Appointment:
        params = {
            "q_id": booking_id,
            "b_practitioner": times.practitioner,
            "b_duration": times.duration_min,
            "b_start": times.start_at,
            "b_end": times.end_at,
            "b_block_start": times.block_start,
            "b_block_end": times.block_end,
            "b_now": now,
        }
        return Appointment(*(await self._conn.execute(_MOVE, params)).one())

    async def set_status(self, booking_id: str, status: Status, now: datetime) -> Appointment:
        params = {"q_id": booking_id, "b_status": status.value, "b_now": now}
        return Appointment(*(await self._conn.execute(_SET_STATUS, params)).one())

    async def cancel(self, booking_id: str, reason: str | None, now: datetime) -> Appointment:
        params = {"q_id": booking_id, "b_reason": reason, "b_now": now}
        return Appointment(*(await self._conn.execute(_CANCEL, params)).one())

    async def expire_lapsed_holds(
        self, practitioner: str, lo: datetime, hi: datetime, now: datetime
    ) -> list[Appointment]:
        params = {"q_practitioner": practitioner, "q_now": now, "q_lo": lo, "q_hi": hi}
        return [Appointment(*row) for row in await self._conn.execute(_EXPIRE_STALE, params)]

    async def delete_lapsed_holds(self, cutoff: datetime) -> list[str]:
        # The rule is evaluated here, not taken from an earlier plan, and the rows are locked
        # on PostgreSQL, so a hold confirmed meanwhile is neither deleted nor stripped of its key.
        found = await self._conn.execute(_LAPSED_LOCKED, {"q_cutoff": cutoff})
        ids = [str(i) for i in found.scalars()]
        for at in range(0, len(ids), CHUNK):
            chunk = ids[at : at + CHUNK]
            # The keys point at the appointments, so they go first.
            await self._conn.execute(delete(idempotency_keys).where(k.booking_id.in_(chunk)))
            await self._conn.execute(delete(appointments).where(a.id.in_(chunk)))
        return ids


class SqlIdempotencyKeys:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def find(self, scope: str, key: str) -> tuple[str, Appointment] | None:
        row = (await self._conn.execute(_KEY, {"q_scope": scope, "q_key": key})).first()
        return None if row is None else (str(row[0]), Appointment(*row[1:]))

    async def remember(
        self, scope: str, key: str, fingerprint: str, booking_id: str, now: datetime
    ) -> None:
        values = {
            "client_id": scope,
            "key": key,
            "request_hash": fingerprint,
            "booking_id": booking_id,
            "created_at": now,
        }
        await self._conn.execute(_REMEMBER, values)


_KEYS = bindparam("keys", type_=ARRAY(BigInteger))
# In the array's (sorted) order, one statement for all of a block's locks.
_WAIT = select(func.count(func.pg_advisory_xact_lock(column("k")))).select_from(
    func.unnest(_KEYS).alias("k")
)
_TRY = select(func.bool_and(func.pg_try_advisory_xact_lock(column("k")))).select_from(
    func.unnest(_KEYS).alias("k")
)


class SqlSlotLocks:
    """PostgreSQL's transaction-scoped advisory locks per (practitioner, quarter hour)
    (domain/locks.py); `held`: the keys this transaction holds. SQLite: nothing to take."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._on = conn.dialect.name == "postgresql"
        self.held: set[int] = set()

    async def queue_for(self, keys: list[int]) -> None:
        if not self._on:
            return
        wanted = [key for key in keys if key not in self.held]
        if not wanted:
            return
        if self.held:  # waiting now could close a cycle: only try (a refusal rolls back)
            if not (await self._conn.execute(_TRY, {"keys": wanted})).scalar_one():
                raise SlotContended
        else:
            await self._conn.execute(_WAIT, {"keys": wanted})
        self.held.update(wanted)


PatientsOn = Callable[[AsyncConnection], PatientMatcher]
ListenerOn = Callable[[AsyncConnection], EventListener]
# PostgreSQL's "try again" failures: deadlock_detected, serialization_failure.
_TRANSIENT = frozenset({"40P01", "40001"})


class SqlBookingUnitOfWork(UnitOfWork):
    def __init__(
        self,
        db: Database,
        *,
        write: bool = True,
        patients: PatientsOn | None = None,
        listeners: Sequence[ListenerOn] = (),
    ) -> None:
        super().__init__(db, write=write)
        self._patients_on = patients
        self._listeners_on = tuple(listeners)
        self._appointments: SqlAppointments | None = None
        self._keys: SqlIdempotencyKeys | None = None
        self._locks: SqlSlotLocks | None = None
        self._patients: PatientMatcher | None = None
        self._listeners: tuple[EventListener, ...] = ()

    def _open(self, conn: AsyncConnection) -> None:
        self._appointments = SqlAppointments(conn)
        self._keys = SqlIdempotencyKeys(conn)
        self._locks = SqlSlotLocks(conn)
        if self.write:  # a read needs neither
            self._patients = None if self._patients_on is None else self._patients_on(conn)
            self._listeners = tuple(on(conn) for on in self._listeners_on)

    def _close(self) -> None:
        self._appointments = self._keys = self._locks = self._patients = None
        self._listeners = ()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, IntegrityError):
            raise RaceLost(_taken(exc)) from exc
        if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _TRANSIENT:
            raise Deadlocked(str(exc.orig)) from exc

    @property
    def appointments(self) -> SqlAppointments:
        if self._appointments is None:
            raise TransactionClosed("use the repositories inside `async with uow:`")
        return self._appointments

    @property
    def idempotency_keys(self) -> SqlIdempotencyKeys:
        if self._keys is None:
            raise TransactionClosed("use the repositories inside `async with uow:`")
        return self._keys

    @property
    def slot_locks(self) -> SqlSlotLocks:
        if self._locks is None:
            raise TransactionClosed("use the repositories inside `async with uow:`")
        return self._locks

    @property
    def patients(self) -> PatientMatcher:
        if self._patients is None:
            raise TransactionClosed("patients: a writing unit of work made with `patients=`")
        return self._patients

    @property
    def listeners(self) -> tuple[EventListener, ...]:
        return self._listeners

    def _saved(self) -> object:
        held = frozenset(self._locks.held) if self._locks is not None else frozenset()
        return (super()._saved(), held)

    def _restore(self, saved: object) -> None:
        if not isinstance(saved, tuple):
            return
        base, held = saved
        super()._restore(base)
        if self._locks is not None:
            self._locks.held = set(held)


def _taken(exc: IntegrityError) -> str | None:
    message = str(exc.orig)
    if "booking_patient_no_overlap" in message:
        return "patient"
    if "booking_practitioner_no_overlap" in message:
        return "slot"
    return None


class SqlBookingDesk:
    """Booking's rows in another context's write transaction (the waitlist's offers, a
    patient merge): built on that transaction's connection; a released hold's event is
    published through that transaction's unit of work (`tx`)."""

    def __init__(self, conn: AsyncConnection, tx: Transaction | None = None) -> None:
        self._conn = conn
        self._tx = tx

    async def extend_hold(self, hold_id: str, until: datetime, now: datetime) -> bool:
        """Keep a live hold until `until`; False when it lapsed or was confirmed or released
        meanwhile."""
        result = await self._conn.execute(
            update(appointments)
            .where(a.id == hold_id, a.status == Status.HELD.value, a.hold_expires_at > now)
            .values(hold_expires_at=until, updated_at=now)
        )
        return bool(result.rowcount)

    async def release_hold(self, hold_id: str, now: datetime) -> bool:
        """Let a held slot go at once (booking.hold_released)."""
        result = await self._conn.execute(
            update(appointments)
            .where(a.id == hold_id, a.status == Status.HELD.value)
            .values(status=Status.CANCELLED.value, updated_at=now)
            .returning(appointments)
        )
        released = [Appointment(*row) for row in result]
        if self._tx is None:
            raise TransactionClosed("release_hold publishes: build the desk with `tx`")
        self._tx.publish(*(booking_event("hold_released", x, now) for x in released))
        return bool(released)

    async def status_of(self, booking_id: str) -> BookingNow | None:
        return await booking_now(self._conn, booking_id)

    async def reassign_patient(self, source_id: str, target_id: str, now: datetime) -> int:
        """Every booking of `source_id` to `target_id` (a merge); how many moved."""
        # The same check PostgreSQL's exclusion constraint makes, asked first so that both
        # databases answer with the same error.
        mine, theirs = alias(appointments), alias(appointments)
        live = [
            t.c.status.in_(OCCUPYING) & ((t.c.status != "held") | (t.c.hold_expires_at > now))
            for t in (mine, theirs)
        ]
        overlapping = select(mine.c.id).where(
            mine.c.patient_id == source_id,
            theirs.c.patient_id == target_id,
            and_(*live),
            mine.c.start_at < theirs.c.end_at,
            mine.c.end_at > theirs.c.start_at,
        )
        if (await self._conn.execute(overlapping.limit(1))).first() is not None:
            raise PatientUnavailable(
                "the two records have visits at overlapping times; cancel or move one of "
                "them, then merge again"
            )
        result = await self._conn.execute(
            update(appointments).where(a.patient_id == source_id).values(patient_id=target_id)
        )
        return int(result.rowcount)
