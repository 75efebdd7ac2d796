"""The payments unit of work over SQL: one transaction, each aggregate's repository on it,
and booking's visits and patients' names read in the same transaction (bootstrap gives how
to read them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.unit_of_work import TransactionClosed, UnitOfWork
from clinicflow.payments.checkout.repository import SqlPromoUses
from clinicflow.payments.gateway_events.repository import SqlWebhookEvents
from clinicflow.payments.idempotency_keys.repository import SqlRequestKeys
from clinicflow.payments.ledger.queries import SqlLedgerReports
from clinicflow.payments.ledger.repository import SqlCredits, SqlLedgerEntries
from clinicflow.payments.orders.repository import SqlOrders
from clinicflow.payments.ports import PatientNames, Visits
from clinicflow.payments.refunds.repository import SqlRefunds

if TYPE_CHECKING:
    from clinicflow.infra.db import Database

VisitsOn = Callable[[AsyncConnection], Visits]
NamesOn = Callable[[AsyncConnection], PatientNames]


@dataclass(frozen=True, slots=True)
class _Repositories:
    orders: SqlOrders
    promo_uses: SqlPromoUses
    credits: SqlCredits
    entries: SqlLedgerEntries
    reports: SqlLedgerReports
    refunds: SqlRefunds
    request_keys: SqlRequestKeys
    webhook_events: SqlWebhookEvents
    visits: Visits
    patient_names: PatientNames


class SqlPaymentsUnitOfWork(UnitOfWork):
    """`visits(conn)`, `names(conn)`: booking's visits and patients' names read on this
    transaction's connection."""

    def __init__(
        self, db: Database, *, write: bool = True, visits: VisitsOn, names: NamesOn
    ) -> None:
        super().__init__(db, write=write)
        self._visits_on = visits
        self._names_on = names
        self._repositories: _Repositories | None = None

    def _open(self, conn: AsyncConnection) -> None:
        self._repositories = _Repositories(
            orders=SqlOrders(conn),
            promo_uses=SqlPromoUses(conn),
            credits=SqlCredits(conn),
            entries=SqlLedgerEntries(conn),
            reports=SqlLedgerReports(conn),
            refunds=SqlRefunds(conn),
            request_keys=SqlRequestKeys(conn),
            webhook_events=SqlWebhookEvents(conn),
            visits=self._visits_on(conn),
            patient_names=self._names_on(conn),
        )

    @property
    def _open_repositories(self) -> _Repositories:
        if self._repositories is None:
            raise TransactionClosed("the unit of work is not open: use `async with uow:`")
        return self._repositories

    @property
    def orders(self) -> SqlOrders:
        return self._open_repositories.orders

    @property
    def promo_uses(self) -> SqlPromoUses:
        return self._open_repositories.promo_uses

    @property
    def credits(self) -> SqlCredits:
        return self._open_repositories.credits

    @property
    def entries(self) -> SqlLedgerEntries:
        return self._open_repositories.entries

    @property
    def reports(self) -> SqlLedgerReports:
        return self._open_repositories.reports

    @property
    def refunds(self) -> SqlRefunds:
        return self._open_repositories.refunds

    @property
    def request_keys(self) -> SqlRequestKeys:
        return self._open_repositories.request_keys

    @property
    def webhook_events(self) -> SqlWebhookEvents:
        return self._open_repositories.webhook_events

    @property
    def visits(self) -> Visits:
        return self._open_repositories.visits

    @property
    def patient_names(self) -> PatientNames:
        return self._open_repositories.patient_names
