"""Data retention across contexts: what is due (`plan`) and carrying it out (`apply`).

Each rule lives with the data it governs (`booking.jobs`, `patients.jobs`, `waitlist.jobs`,
`infra.audit_retention`, `infra.events.retention`); this module only runs them in order and
collects ids and counts, never PHI. `apply` gives every data class its own write
transaction (patients one per batch, so no long transaction holds the table) and each one
re-evaluates its rule inside that transaction: what changed after a dry run is judged as it
is now, not as it was listed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from clinicflow.booking.jobs import HoldRetention
from clinicflow.booking.repository import SqlBookingUnitOfWork
from clinicflow.catalog.domain import RetentionPolicy
from clinicflow.infra import audit_retention
from clinicflow.infra.audit_retention import AuditChainBroken, AuditPrune
from clinicflow.infra.db import Database
from clinicflow.infra.events import retention as event_retention
from clinicflow.infra.events.retention import EventPrune
from clinicflow.infra.unit_of_work import Factory, UnitOfWork
from clinicflow.patients.jobs import PatientRetention
from clinicflow.patients.repository import SqlRetentionUnitOfWork
from clinicflow.waitlist.jobs import WaitlistRetention
from clinicflow.waitlist.repository import SqlWaitlistUnitOfWork

__all__ = ["STEPS", "PlanRow", "RetentionPlan", "apply", "plan", "rows"]

# What `apply` does, in order; it reports each as done (for a progress bar).
STEPS = ("expired holds", "waitlist entries", "event records", "patient records", "audit log")
Done = Callable[[str], None]
T = TypeVar("T")


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """Due (dry run) or done (applied): ids and counts only."""

    now: datetime
    policy: RetentionPolicy
    applied: bool
    expired_holds: tuple[str, ...]  # appointment ids
    patients: tuple[str, ...]  # patient ids de-identified (or due)
    patients_spared: tuple[str, ...]  # due but under legal hold
    audit: AuditPrune
    audit_refused: str | None = None  # why pruning was refused (the chain did not verify)
    waitlist_entries: tuple[str, ...] = ()  # withdrawn entries deleted (or due)
    events: EventPrune = field(default_factory=EventPrune)  # event bus rows deleted (or due)


@dataclass(frozen=True, slots=True)
class PlanRow:
    data: str
    rule: str
    count: int
    ids: tuple[str, ...]


def _holds(db: Database) -> HoldRetention:
    return HoldRetention(uow=Factory(db, SqlBookingUnitOfWork))


async def plan(db: Database, policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    patients = await _patients(db).due(policy, now)
    holds = await _holds(db).due(policy, now)
    withdrawn = await _waitlist(db).due(policy, now)
    async with db.read() as conn:
        audit = await audit_retention.due(conn, policy, now)
        events = await event_retention.due(conn, event_retention.cutoffs(policy, now))
    return RetentionPlan(
        now=now,
        policy=policy,
        applied=False,
        expired_holds=tuple(holds),
        patients=tuple(patients.due),
        patients_spared=tuple(patients.spared_legal_hold),
        audit=audit,
        waitlist_entries=tuple(withdrawn),
        events=events,
    )


async def apply(
    db: Database, policy: RetentionPolicy, now: datetime, step: Done = _ignore
) -> RetentionPlan:
    """Carry the policy out; `step(name)` hears each of STEPS as it is done."""
    holds = await _holds(db).delete_due(policy, now)
    step(STEPS[0])
    withdrawn = await _waitlist(db).delete_due(policy, now)
    step(STEPS[1])
    cutoffs = event_retention.cutoffs(policy, now)
    events = await _committed(db, lambda uow: event_retention.prune(uow.connection, cutoffs))
    step(STEPS[2])
    done = await _patients(db).deidentify_all(policy, now)
    step(STEPS[3])
    spared = (await _patients(db).due(policy, now)).spared_legal_hold
    refused: str | None = None
    try:
        audit = await _committed(db, lambda uow: audit_retention.prune(uow, policy, now))
    except AuditChainBroken as exc:
        # The other classes are committed already; report them along with the refusal.
        audit, refused = AuditPrune(policy.audit_cutoff(now)), exc.detail
    step(STEPS[4])
    return RetentionPlan(
        now=now,
        policy=policy,
        applied=True,
        expired_holds=tuple(holds),
        patients=tuple(done),
        patients_spared=tuple(spared),
        audit=audit,
        audit_refused=refused,
        waitlist_entries=tuple(withdrawn),
        events=events,
    )


def _patients(db: Database) -> PatientRetention:
    return PatientRetention(uow=Factory(db, SqlRetentionUnitOfWork))


async def _committed(db: Database, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """`work` in a unit of work of its own, committed."""
    async with UnitOfWork(db) as uow:
        done = await work(uow)
        await uow.commit()
    return done


def _waitlist(db: Database) -> WaitlistRetention:
    return WaitlistRetention(uow=Factory(db, SqlWaitlistUnitOfWork))


def rows(result: RetentionPlan) -> list[PlanRow]:
    """One row per data class (and one for legal-hold spares), for people to read."""
    policy = result.policy
    audit = result.audit
    audit_ids = (f"{audit.first_id}-{audit.through_id}",) if audit.rows else ()
    return [
        PlanRow(
            "expired holds",
            f"lapsed before {_day(policy.holds_cutoff(result.now))} "
            f"({policy.expired_holds_days} days): delete",
            len(result.expired_holds),
            result.expired_holds,
        ),
        PlanRow(
            "patient records",
            f"no visit since {_day(policy.patient_cutoff(result.now))} "
            f"({policy.patient_records_years_after_last_visit} years), none ahead: de-identify",
            len(result.patients),
            result.patients,
        ),
        PlanRow(
            "patient records",
            "spared (legal hold)",
            len(result.patients_spared),
            result.patients_spared,
        ),
        PlanRow(
            "audit log",
            f"before {_day(audit.cutoff)} ({policy.audit_log_years} years): "
            "prune oldest, keep a checkpoint",
            audit.rows,
            audit_ids,
        ),
        PlanRow(
            "cancelled waitlist entries",
            f"withdrawn before {_day(WaitlistRetention.cutoff(policy, result.now))} "
            f"({policy.cancelled_waitlist_entries_days} days): delete",
            len(result.waitlist_entries),
            result.waitlist_entries,
        ),
        *_event_rows(result),
    ]


def _event_rows(result: RetentionPlan) -> list[PlanRow]:
    policy, events = result.policy, result.events
    return [
        PlanRow(
            "published events",
            f"published over {policy.published_events_days} days ago, "
            "no delivery pending or dead: delete",
            events.outbox,
            (),
        ),
        PlanRow(
            "event deliveries",
            f"finished over {policy.finished_deliveries_days} days ago: delete",
            events.deliveries,
            (),
        ),
        PlanRow(
            "handled-event records",
            f"handled over {policy.handled_events_days} days ago (the redelivery horizon): delete",
            events.inbox,
            (),
        ),
    ]


def _day(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"
