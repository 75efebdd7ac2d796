"""Reports from the ledger: revenue per local day and service, and its totals per provider
payment for reconciliation."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.payments.domain.reconcile import Booked
from clinicflow.payments.ledger.views import RevenueRow
from clinicflow.payments.tables import MONEY_KINDS, ledger

lc = ledger.c


class SqlLedgerReports:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def revenue(self, lo: datetime, hi: datetime, tz: ZoneInfo) -> list[RevenueRow]:
        """Money entries in [lo, hi) summed per local day and service. Summed in Python after
        a plain select, so the day boundary is the clinic's zone on every database."""
        query = (
            select(lc.occurred_at, lc.service, lc.kind, lc.amount_cents)
            .where(lc.occurred_at >= lo, lc.occurred_at < hi, lc.kind.in_(MONEY_KINDS))
            .order_by(lc.occurred_at)
        )
        sums: dict[tuple[str, str], list[int]] = {}
        for at, service, kind, cents in (await self._conn.execute(query)).all():
            key = (at.astimezone(tz).date().isoformat(), service or "")
            bucket = sums.setdefault(key, [0, 0, 0])
            bucket[MONEY_KINDS.index(kind)] += cents
        return [
            RevenueRow(day, service, charged, -refunded, adjusted)
            for (day, service), (charged, refunded, adjusted) in sorted(sums.items())
        ]

    async def booked(self, providers: Collection[str], since: datetime) -> list[Booked]:
        """Per provider payment with an entry since `since`: its charges and refunds, all
        time."""
        recent = (
            select(lc.provider_ref)
            .where(
                lc.provider.in_(providers), lc.occurred_at >= since, lc.provider_ref.is_not(None)
            )
            .distinct()
        )
        charged = func.sum(case((lc.kind == "charge", lc.amount_cents), else_=0))
        refunded = func.sum(case((lc.kind == "refund", -lc.amount_cents), else_=0))
        query = (
            select(lc.provider, lc.provider_ref, charged, refunded)
            .where(lc.provider.in_(providers), lc.provider_ref.in_(recent))
            .group_by(lc.provider, lc.provider_ref)
        )
        return [
            Booked(provider, ref, int(c or 0), int(r or 0))
            for provider, ref, c, r in (await self._conn.execute(query)).all()
        ]
