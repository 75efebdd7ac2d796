"""The payments unit of work over SQL: one transaction, each aggregate's repository on it,
and booking's visits and patients' names read in the same transaction (bootstrap gives how
to read them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.unit_of_work import OnConnection, UnitOfWork, on_connection
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


class SqlPaymentsUnitOfWork(UnitOfWork):
    """`visits(conn)`, `names(conn)`: booking's visits and patients' names read on this
    transaction's connection."""

    def __init__(
        self, db: Database, *, write: bool = True, visits: VisitsOn, names: NamesOn
    ) -> None:
        super().__init__(db, write=write)
        self._visits_on = visits
        self._names_on = names

    def _visits(self, conn: AsyncConnection) -> Visits:
        return self._visits_on(conn)

    def _patient_names(self, conn: AsyncConnection) -> PatientNames:
        return self._names_on(conn)

    orders = on_connection(SqlOrders)
    promo_uses = on_connection(SqlPromoUses)
    credits = on_connection(SqlCredits)
    entries = on_connection(SqlLedgerEntries)
    reports = on_connection(SqlLedgerReports)
    refunds = on_connection(SqlRefunds)
    request_keys = on_connection(SqlRequestKeys)
    webhook_events = on_connection(SqlWebhookEvents)
    visits = OnConnection(_visits)
    patient_names = OnConnection(_patient_names)
