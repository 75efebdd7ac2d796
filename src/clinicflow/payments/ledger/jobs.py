"""`clinicflow payments reconcile`: the ledger against each configured gateway's records.

For every provider payment the ledger has an entry for since `since`, and every payment the
gateway lists since then, the ledger's charged and refunded totals (all time) must equal
what the gateway received and refunded (domain/reconcile.py says how each difference is
named). Only real gateways are compared; the in-memory demo gateway forgets on restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.domain.reconcile import Difference, Seen, compare
from clinicflow.payments.ports import PaymentGateway, PaymentsUnitOfWork


class Reconciler:
    def __init__(
        self, *, uow: UnitsOfWork[PaymentsUnitOfWork], gateways: Mapping[str, PaymentGateway]
    ) -> None:
        self._uow = uow
        self.gateways = gateways  # by provider name, real gateways only

    async def differences(
        self, since: datetime, progress: Callable[[int, int], None] | None = None
    ) -> list[Difference]:
        """`progress(read, expected)` after each gateway record: how many were read, and how
        many payments the ledger holds (the gateways may list more)."""
        async with self._uow.reading() as uow:
            booked = await uow.reports.booked(list(self.gateways), since)
        seen: list[Seen] = []
        for provider, gateway in self.gateways.items():
            ids = [b.provider_id for b in booked if b.provider == provider]
            async for rec in gateway.records(since, ids):
                if progress is not None:
                    progress(len(seen) + 1, len(booked))
                seen.append(
                    Seen(
                        provider,
                        rec.provider_id,
                        rec.amount_received_cents,
                        rec.refunded_cents,
                        rec.status,
                    )
                )
        return compare(booked, seen)
